/* cli_conf.h — where the CLI's settings come from.
 *
 * Each setting is taken from the first place that has it:
 *   1. flags: --server, --cacert, --token-file, --timeout, --config;
 *   2. environment: CERTKEEPER_SERVER, CERTKEEPER_CACERT, CERTKEEPER_TOKEN
 *      (the token itself), CERTKEEPER_TOKEN_FILE, CERTKEEPER_CONFIG;
 *   3. the config file: $CERTKEEPER_CONFIG or --config, else
 *      $XDG_CONFIG_HOME/certkeeper/cli.conf, else
 *      ~/.config/certkeeper/cli.conf, INI (common/util/config.h):
 *        [server]
 *        url = https://pki.example.net:8443
 *        cacert = root.pem        ; relative to the config file's directory
 *        token_file = admin.token
 *        timeout = 60s
 * There is deliberately no --token flag: a token on the command line is
 * visible to every user through ps(1) and lands in shell history. */
#ifndef CK_CLI_CONF_H
#define CK_CLI_CONF_H

#include <stddef.h>

#include "coordinator/cli/cli.h"

/* Fills *out from args, the environment and the config file. Returns
 * CK_CLI_OK, or CK_CLI_USAGE (bad value, config file invalid) /
 * CK_CLI_LOCAL_IO (a config file named explicitly cannot be read) with a
 * message in why. out is cleared first and owned by the caller
 * (ck_cli_settings_clear) whatever the result. */
int ck_cli_conf_resolve(const ck_cli_args *args, ck_cli_settings *out,
                        char *why, size_t why_len);

/* Frees and wipes the strings of s (NULL-safe) and zeroes it. */
void ck_cli_settings_clear(ck_cli_settings *s);

/* Loads the API token named by s: CERTKEEPER_TOKEN's value, or the first
 * line of the token file (surrounding whitespace removed). Returns
 * CK_CLI_OK with *token malloc'ed (caller wipes and frees), CK_CLI_USAGE
 * when no token is configured or it holds characters a bearer token cannot
 * have, CK_CLI_LOCAL_IO when the file cannot be read. The token never
 * appears in why. */
int ck_cli_conf_load_token(const ck_cli_settings *s, char **token, char *why,
                           size_t why_len);

/* Normalises a server URL: adds "https://" when no scheme is given, strips
 * trailing slashes, refuses other schemes (the bearer token must not travel
 * in clear) and control characters or spaces. Returns CK_CLI_OK with *out
 * malloc'ed, or CK_CLI_USAGE with why. */
int ck_cli_conf_server_url(const char *in, char **out, char *why,
                           size_t why_len);

#endif
