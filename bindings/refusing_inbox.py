#!/usr/bin/env python3
"""An inbox that refuses every envelope for good (413, the relay's JSON
error body), for the binding tests of a failed delivery. Prints "listening
on HOST:PORT" (bindings/servers.sh reads it) and serves until killed."""
import http.server
import json
import sys


class Refusing(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"error": "envelope too large"}).encode()
        self.send_response(413)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
sys.stdout.flush()
server.serve_forever()
