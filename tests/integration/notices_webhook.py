# notices_webhook.py — webhook receiver for test_notices.sh on 127.0.0.1.
# Every request is written to OUTDIR as <path>-<n>.json (body) and
# <path>-<n>.hdr (headers), n counting per path from 1. Answers by path:
#   /ok     200
#   /flaky  500 to the first request, 200 afterwards
#   /hang   the first request gets no answer for 6 s (the sender's timeout
#           is shorter), 200 afterwards
#   /gone   410 (a refusal: recorded, not retried)
# Usage: python3 notices_webhook.py PORT OUTDIR
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
counts = {}


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        path = self.path.strip("/") or "root"
        with lock:
            counts[path] = counts.get(path, 0) + 1
            k = counts[path]
        base = os.path.join(sys.argv[2], "%s-%d" % (path, k))
        with open(base + ".hdr.tmp", "w") as f:
            for name, value in self.headers.items():
                f.write("%s: %s\n" % (name, value))
        with open(base + ".json.tmp", "wb") as f:
            f.write(body)
        os.rename(base + ".hdr.tmp", base + ".hdr")
        os.rename(base + ".json.tmp", base + ".json")
        if path == "flaky" and k == 1:
            code = 500
        elif path == "hang" and k == 1:
            time.sleep(6)
            code = 200
        elif path == "gone":
            code = 410
        else:
            code = 200
        try:
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass


srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
srv.daemon_threads = True
srv.serve_forever()
