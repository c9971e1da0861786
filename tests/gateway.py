"""A real HTTP server for tests, standing in for an SMS gateway or a chat webhook: 127.0.0.1 on a
port of its own, keeping every request it receives, and refusing on purpose while told to.

A plain module (not conftest) so test modules can import it by a name no other file shares."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Gateway:
    """``requests``: every request as {"path", "headers", "body", "answered"}; ``down``: answer
    503 to everything while True; ``accepted``: the bodies answered 200."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.down = False
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = 503 if gateway.down else 200
                with gateway.lock:
                    gateway.requests.append({"path": self.path, "headers": dict(self.headers),
                                             "body": json.loads(body or b"null"), "answered": status})
                answer = json.dumps({"code": "0" if status == 200 else "busy"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def start(self) -> "Gateway":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/send"

    @property
    def accepted(self) -> list[dict]:
        return [r["body"] for r in self.requests if r["answered"] == 200]
