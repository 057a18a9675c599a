"""An HTTP/1.1 server on a Unix domain socket file, for UnixClientsTest (OkHttp over
RustUnixSocketFactory). It listens on nothing else, so a request that reaches it came over the
file. Usage: python3 unix_http_server.py SOCKET_PATH DATA_DIR. It prints "ready" once listening.

  GET /files/NAME       the bytes of DATA_DIR/NAME
  POST /echo            the request body back, with X-Body-Length and X-Body-Sha256 headers
                        (a Content-Length body or a chunked one)
  every answer carries X-Connection: a number per connection, to see connection reuse
"""
import hashlib
import http.server
import itertools
import os
import socketserver
import sys

SOCKET_PATH, DATA_DIR = sys.argv[1], sys.argv[2]
CONNECTIONS = itertools.count(1)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection_number = next(CONNECTIONS)

    def address_string(self):
        return "unix"  # the peer of a Unix socket has no host to show

    def log_message(self, fmt, *args):
        pass

    def send_body(self, status, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Connection", str(self.connection_number))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if not self.path.startswith("/files/"):
            self.send_body(404, b"not found")
            return
        name = os.path.basename(self.path[len("/files/"):])
        try:
            with open(os.path.join(DATA_DIR, name), "rb") as f:
                body = f.read()
        except OSError:
            self.send_body(404, b"no such file")
            return
        self.send_body(200, body, [("Content-Type", "application/octet-stream")])

    def read_chunked(self):
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after the chunk

    def do_POST(self):
        if self.path != "/echo":
            self.send_body(404, b"not found")
            return
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self.read_chunked()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_body(200, body, [("Content-Type", "application/octet-stream"),
                                   ("X-Body-Length", str(len(body))),
                                   ("X-Body-Sha256", hashlib.sha256(body).hexdigest())])


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


with Server(SOCKET_PATH, Handler) as server:
    print("ready", flush=True)
    server.serve_forever()
