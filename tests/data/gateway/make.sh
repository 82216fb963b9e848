#!/bin/sh
# make.sh — regenerates the gateway test fixtures with the openssl CLI.
#
#   rsa1024.key   an RSA 1024-bit key (too weak for issuance, which is the
#                 point): tests/unit/gateway/test_inventory.c self-signs a
#                 certificate with it at run time and reports it as a
#                 discovered certificate, expecting the weak flags.
set -eu
cd "$(dirname "$0")"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.key
