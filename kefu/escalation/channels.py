"""The ways a message leaves kefu: e-mail (staff and customers), SMS through the department's
gateway, chat through its webhook. The outbox (kefu/escalation/mail.py) holds every message with
its way; :class:`Channels` hands each to the transport of its way.

**SMS and chat** are one HTTP POST each, the usual shape of Chinese SMS providers' and IM
platforms' APIs: a JSON body rendered from ``customer_messages.yaml`` (``sms_body``,
``chat_body``), a bearer token from ``KEFU_SMS_TOKEN`` / ``KEFU_CHAT_TOKEN`` (or the Prefect Secret
blocks ``kefu-sms-token`` / ``kefu-chat-token``), and an ``Idempotency-Key`` header: the
message's id, the same on a resend, so a gateway that de-duplicates sends a retried message once.
Anything but a 2xx answer is a failure: the row stays in the outbox and is tried again with the
outbox's back-off, never dropped.

With no ``KEFU_SMS_URL`` / ``KEFU_CHAT_WEBHOOK_URL``, the message is written as a JSON file in the
outbox folder instead, as staff mail is without SMTP: the embedded default needs no gateway.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from kefu.core.texts import string_template

if TYPE_CHECKING:
    from kefu.escalation.mail import OutgoingMail, Transport

SMS_SECRET_BLOCK, CHAT_SECRET_BLOCK = "kefu-sms-token", "kefu-chat-token"


def request_body(template: str, mail: OutgoingMail) -> Any:
    """The JSON a gateway receives for ``mail``, from the configured body template."""
    case_id, purpose = _cause(mail.key)
    rendered = string_template(template).render(to=mail.to[0], text=mail.text, key=mail.message_id,
                                               case_id=case_id, purpose=purpose)
    return json.loads(rendered)


def _cause(key: str) -> tuple[str, str]:
    # A customer message's outbox key is "customer:<case id>:<notice key>" (customer_messages.queue).
    parts = key.split(":", 2)
    return (parts[1], parts[2]) if len(parts) == 3 else ("", key)


class HttpGateway:
    """POST each message to ``url`` (an SMS gateway or a chat webhook)."""

    def __init__(self, url: str, body: str, token: Callable[[], str | None], timeout: float = 15.0) -> None:
        self.url, self.body, self._token, self.timeout = url, body, token, timeout

    def __repr__(self) -> str:  # never the token
        return f"HttpGateway({self.url!r})"

    def send(self, mail: OutgoingMail) -> None:
        import httpx

        headers = {"Idempotency-Key": mail.message_id, "Content-Type": "application/json"}
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = httpx.post(self.url, content=json.dumps(request_body(self.body, mail), ensure_ascii=False).encode(),
                              headers=headers, timeout=self.timeout)
        if not response.is_success:
            raise RuntimeError(f"{self.url} answered {response.status_code}: {response.text[:300]}")


class FileGateway:
    """Writes each message as ``<created>-<id>.<way>.json``: the embedded default's SMS and chat."""

    def __init__(self, directory: Path | str, way: str, body: str) -> None:
        self.directory, self.way, self.body = Path(directory), way, body

    def __repr__(self) -> str:
        return f"FileGateway({str(self.directory)!r}, {self.way!r})"

    def send(self, mail: OutgoingMail) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{mail.created_at:%Y%m%dT%H%M%SZ}-{mail.id}.{self.way}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(request_body(self.body, mail), ensure_ascii=False, indent=2) + "\n",
                       encoding="utf-8")
        tmp.replace(path)


@dataclass(frozen=True)
class Channels:
    """One transport per way; :meth:`send` hands a message to the transport of its way."""

    email: Transport
    sms: Transport
    chat: Transport

    def send(self, mail: OutgoingMail) -> None:
        transport = getattr(self, mail.channel, None)
        if transport is None:
            raise ValueError(f"outbox message {mail.id} has no way {mail.channel!r}")
        transport.send(mail)


def channels_from_settings(email: Transport, rules_messages: Any, outbox_dir: Path,
                           secret: Callable[[str], str | None] | None = None) -> Channels:
    """The transports the settings name: HTTP gateways where ``KEFU_SMS_URL`` /
    ``KEFU_CHAT_WEBHOOK_URL`` are set, files in the outbox folder where not."""
    from kefu.settings import get_settings

    settings = get_settings()

    def token(value: Any, block: str) -> Callable[[], str | None]:
        @lru_cache(maxsize=1)  # the Secret block is read once per delivery run, not once per message
        def read() -> str | None:
            if value is not None:
                return value.get_secret_value()
            return secret(block) if secret is not None else None
        return read

    sms = (HttpGateway(settings.sms_url, rules_messages.sms_body, token(settings.sms_token, SMS_SECRET_BLOCK))
           if settings.sms_url else FileGateway(outbox_dir, "sms", rules_messages.sms_body))
    chat = (HttpGateway(settings.chat_webhook_url, rules_messages.chat_body,
                        token(settings.chat_token, CHAT_SECRET_BLOCK))
            if settings.chat_webhook_url else FileGateway(outbox_dir, "chat", rules_messages.chat_body))
    return Channels(email=email, sms=sms, chat=chat)
