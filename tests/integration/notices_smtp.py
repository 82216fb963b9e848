# notices_smtp.py — aiosmtpd handler for test_notices.sh: writes every
# accepted message to OUTDIR (one .eml file each, renamed into place when
# complete), or refuses every recipient with 550 in mode "refuse".
# Run: python3 -m aiosmtpd -n -l 127.0.0.1:PORT [--tlscert C --tlskey K]
#        -c notices_smtp.Sink OUTDIR [ok|refuse]
import os
import time


class Sink:
    def __init__(self, outdir, mode="ok"):
        self.outdir = outdir
        self.mode = mode

    @classmethod
    def from_cli(cls, parser, *args):
        return cls(*args)

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.mode == "refuse":
            return "550 5.7.1 mailbox unavailable (test refusal)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = "msg-%d" % time.time_ns()
        tmp = os.path.join(self.outdir, "." + name)
        with open(tmp, "wb") as f:
            f.write(("X-Rcpt: %s\r\nX-Tls: %s\r\n" % (
                ",".join(envelope.rcpt_tos),
                "yes" if session.ssl else "no")).encode())
            f.write(envelope.content)
        os.rename(tmp, os.path.join(self.outdir, name + ".eml"))
        return "250 Message accepted for delivery"
