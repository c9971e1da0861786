"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, keeping what it receives.

A plain module (not conftest) so test modules can import it by a name no other file shares."""

from __future__ import annotations

import email
import email.policy
import socket
import threading

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives:
    (MAIL FROM, RCPT TOs, the parsed message)."""

    def __init__(self, port: int | None = None, **kwargs) -> None:  # noqa: ANN003
        self.port = port or free_port()
        self.collector = Collector()
        self.kwargs = kwargs
        self.controller: Controller | None = None

    def start(self) -> "SmtpServer":
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port, **self.kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    @property
    def received(self):  # noqa: ANN201
        return self.collector.received

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"
