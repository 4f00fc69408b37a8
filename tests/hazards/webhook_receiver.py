"""A real HTTP receiver on localhost standing in for an enterprise's system (the one fake, at
the external edge): it answers each POST with the next scripted status and keeps what it got."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    #: Statuses answered in turn; the last one repeats.
    statuses: list[int]
    received: list[Received] = field(default_factory=list)
    url: str = ""


def serve(statuses: list[int]):
    """Start a receiver; returns (receiver, server) — call `server.shutdown()` when done."""
    receiver = Receiver(list(statuses))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received = {k.lower(): v for k, v in self.headers.items()}
            receiver.received.append(Received(received, body))
            n = len(receiver.received) - 1
            status = receiver.statuses[min(n, len(receiver.statuses) - 1)]
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"no" if status >= 300 else b"ok")

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/orders"
    return receiver, server
