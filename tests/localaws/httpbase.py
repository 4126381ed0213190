"""Shared HTTP plumbing for the local test servers (standard library only).

A threaded HTTP/1.1 server with keep-alive, request bodies read by Content-Length or
chunked encoding, JSON answers with an exact Content-Length, and request logs on stderr
only when asked. `run_alone` runs one server as a script: it prints one JSON line with
the endpoint and serves until stdin reaches EOF.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERBOSE = False


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # never wait for kept-alive or long-polling connections
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A client that hung up is routine; anything else is a bug worth a traceback.
        if VERBOSE or not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def start(self):
        """Serves on a daemon thread; returns self."""
        threading.Thread(target=self.serve_forever, name=type(self).__name__, daemon=True).start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()

    @property
    def hostport(self):
        host, port = self.server_address[:2]
        return f"{host}:{port}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle's algorithm and
    # delayed ACKs add ~40 ms to every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    server_version = "codehooks-localaws"
    sys_version = ""

    def log_message(self, fmt, *args):
        if VERBOSE:
            sys.stderr.write(f"[{type(self.server).__name__}] {self.address_string()} {fmt % args}\n")

    def read_body(self):
        """The request body as bytes (Content-Length or chunked; empty if neither)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Trailers, up to the blank line.
                    while self.rfile.readline().strip():
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_bytes(self, status, body, content_type="application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, status, obj, headers=None, content_type="application/json"):
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_bytes(status, body, content_type, headers)


def run_alone(server, key="endpoint", value=None):
    """Prints `{key: value}` on stdout, serves until stdin reaches EOF, then stops."""
    server.start()
    sys.stdout.write(json.dumps({key: value or f"http://{server.hostport}"}) + "\n")
    sys.stdout.flush()
    try:
        sys.stdin.buffer.read()
    except KeyboardInterrupt:
        pass
    server.stop()
