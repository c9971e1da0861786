"""E-mail (and every other message) through a transactional outbox.

**Enqueue.** :func:`enqueue` (kefu.core.outbox) adds a row to ``kefu_outbox`` inside the caller's open
transaction, so the thing that caused the mail (an escalation sweep, an intake) and the
mail commit together or not at all. The row's ``key`` is the idempotency key of its cause:
enqueueing the same key again adds nothing (INSERT … ON CONFLICT DO NOTHING on SQLite and
PostgreSQL alike), so a retried sweep never mails twice.

**Deliver.** :func:`deliver_due` claims due rows with a lease, sends them, and marks each
``sent`` or ``failed``. A row is due when its ``next_attempt_at`` has passed: pending rows,
failed rows whose back-off is over, and ``sending`` rows whose lease expired (the deliverer
died). On PostgreSQL the claim is ``SELECT … FOR UPDATE SKIP LOCKED`` so two deliverers
never claim the same row; on SQLite the write lock serialises the claim, and the claim's
UPDATE re-checks due-ness either way. A failure adds one to ``attempts`` and backs off
1, 2, 4, … minutes, capped at 1 hour; after ``MAX_AUTOMATIC_ATTEMPTS`` the row stays
``failed``, visible in ``kefu outbox``, and waits for ``kefu outbox retry``. Nothing is
ever deleted or dropped.

**At least once, never silently lost.** If the process dies after the SMTP server accepted
a message but before the row was marked ``sent``, the lease expires and the message is
sent once more. That resend carries the same ``Message-ID`` (``<kefu-<id>-<hash>@kefu.local>``,
fixed at the first claim), so mail clients and MTAs that de-duplicate by Message-ID show it
once. This is the one duplicate the design allows: a retry of a send whose outcome was
unknown. A deliverer whose lease expired while it was still sending cannot overwrite the
row's state afterwards (``lease_token`` fences it).

**Transports.** :class:`SmtpTransport` uses yagmail for the SMTP session (connection,
SSL/STARTTLS, login; no smtplib code of ours). The message itself is built with the
stdlib ``email.message.EmailMessage``, because yagmail's builder cannot make a correct
text+HTML message: every content goes into *both* parts, ``\\n`` becomes ``<br>`` in the
plain part too, and an HTML string is also copied into the text part
(yagmail/message.py ``prepare_message``). :class:`FileTransport`, the default with no
SMTP configured, writes the very same message as an ``.eml`` file.

Sender address: ``KEFU_MAIL_FROM`` (default ``kefu@localhost``) and ``KEFU_MAIL_FROM_NAME``;
SMTP password: ``KEFU_SMTP_PASSWORD`` or the Prefect Secret block ``kefu-smtp-password``.
"""

from __future__ import annotations

import base64
import email.policy
import hashlib
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence
from urllib.parse import unquote, urlsplit

import jinja2
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

from kefu.core import clock, outbox
from kefu.core.texts import environment
from kefu.settings import get_settings
from models.outbox import FAILED, SENDING, SENT, OutboxMessage

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
CLAIM_BATCH = 10  # claimed per transaction, so a lease covers a few sends, not hundreds
MAX_BACKOFF = timedelta(hours=1)
MAX_AUTOMATIC_ATTEMPTS = 20  # 1+2+4+…+32 min, then hourly: ≈ 14 h of retries, then a person
SECRET_BLOCK = "kefu-smtp-password"


# -- enqueue ------------------------------------------------------------------------------------

def enqueue(session: Session, *, key: str, to: list[str] | tuple[str, ...], subject: str,
            text: str, html: str, attachments: Sequence[Attachment] = ()) -> bool:
    """Add an e-mail to staff in the caller's open transaction; False if ``key`` was already
    queued (:func:`kefu.core.outbox.put`). ``attachments`` go with it, an inline one shown where
    the HTML says ``<img src="cid:<its cid>">``."""
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise ValueError(f"{key}: a message needs at least one recipient")
    for address in recipients:
        if not isinstance(address, str) or not re.fullmatch(r"[^@\s<>,]+@[^@\s<>,]+", address):
            raise ValueError(f"{key}: {address!r} is not a plain e-mail address (write name@host)")
    return outbox.put(session, key=key, channel="email", to=recipients, subject=subject, text=text, html=html,
                      attachments=[a.stored() for a in attachments])


@dataclass(frozen=True)
class Attachment:
    """A file that goes with an e-mail; with a ``cid``, an image shown inside its HTML part."""

    filename: str
    content_type: str
    data: bytes
    cid: str | None = None

    def stored(self) -> dict[str, Any]:
        return {"filename": self.filename, "content_type": self.content_type,
                "data": base64.b64encode(self.data).decode(), "cid": self.cid}

    @classmethod
    def from_stored(cls, row: dict[str, Any]) -> "Attachment":
        return cls(row["filename"], row["content_type"], base64.b64decode(row["data"]), row.get("cid"))


# -- the message --------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutgoingMail:
    id: int
    key: str
    to: list[str]
    subject: str
    text: str
    html: str
    message_id: str
    created_at: datetime
    channel: str = "email"  # the way it goes: email, sms or chat (kefu.escalation.channels)
    attachments: tuple[Attachment, ...] = ()


def message_id_for(row_id: int, key: str) -> str:
    return f"<kefu-{row_id}-{hashlib.sha256(key.encode()).hexdigest()[:16]}@kefu.local>"


def build_email(mail: OutgoingMail, *, sender: str, sender_name: str | None = None) -> EmailMessage:
    """The RFC 5322 message both transports deliver: multipart/alternative, text then HTML (the
    HTML with its inline images, multipart/related), and the files after them (multipart/mixed)."""
    msg = EmailMessage()
    msg["From"] = formataddr((sender_name, sender)) if sender_name else sender
    msg["To"] = ", ".join(mail.to)
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(mail.created_at)
    msg["Message-ID"] = mail.message_id
    msg["X-Kefu-Key"] = mail.key
    msg.set_content(mail.text, charset="utf-8")
    msg.add_alternative(mail.html, subtype="html", charset="utf-8")
    for attachment in mail.attachments:
        maintype, subtype = attachment.content_type.split("/", 1)
        if attachment.cid:
            html_part = msg.get_payload()[1]  # type: ignore[index]
            html_part.add_related(attachment.data, maintype, subtype, cid=f"<{attachment.cid}>",
                                  filename=attachment.filename, disposition="inline")
    for attachment in mail.attachments:
        if not attachment.cid:
            maintype, subtype = attachment.content_type.split("/", 1)
            msg.add_attachment(attachment.data, maintype, subtype, filename=attachment.filename)
    return msg


def wire_bytes(message: EmailMessage) -> bytes:
    """The message with CRLF line ends, as RFC 5322 and SMTP want them. smtplib fixes line
    ends only for ``str`` messages: bytes with bare LF reach the server as one endless line
    ("500 Line too long")."""
    return message.as_bytes(policy=email.policy.SMTP)


# -- transports ---------------------------------------------------------------------------------

class Transport(Protocol):
    def send(self, mail: OutgoingMail) -> None:
        """Deliver or raise; returning means the server (or the file) has the message."""


class FileTransport:
    """Writes each message as ``<created>-<id>.eml`` (RFC 5322): the embedded default."""

    def __init__(self, directory: Path | str, *, sender: str | None = None, sender_name: str | None = None) -> None:
        settings = get_settings()
        self.directory = Path(directory)
        self.sender = sender or settings.mail_from
        self.sender_name = sender_name if sender_name is not None else settings.mail_from_name

    def path_for(self, mail: OutgoingMail) -> Path:
        return self.directory / f"{mail.created_at:%Y%m%dT%H%M%SZ}-{mail.id}.eml"

    def send(self, mail: OutgoingMail) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path_for(mail)
        tmp = path.with_suffix(".eml.tmp")
        tmp.write_bytes(wire_bytes(build_email(mail, sender=self.sender, sender_name=self.sender_name)))
        tmp.replace(path)  # atomic: a reader never sees half a message; a resend overwrites

    def __repr__(self) -> str:
        return f"FileTransport({str(self.directory)!r})"


_SCHEMES = {"smtp": (25, False, False), "smtp+starttls": (587, False, True), "smtps": (465, True, False)}


class SmtpTransport:
    """SMTP through yagmail. ``smtp://host:port`` (plain; login only if a user is given),
    ``smtp+starttls://user@host:587``, ``smtps://user@host:465``.

    The password comes from ``password``, else ``KEFU_SMTP_PASSWORD``, else ``secret`` (the
    executor reads the Prefect Secret block ``kefu-smtp-password``), only when a user is given;
    never from the URL."""

    def __init__(self, url: str, password: str | None = None, *, sender: str | None = None,
                 sender_name: str | None = None, timeout: float = 30.0,
                 secret: Callable[[], str] | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES:
            raise ValueError(f"KEFU_SMTP_URL: unknown scheme {parts.scheme!r}; "
                             "write smtp://host:25, smtp+starttls://user@host:587 or smtps://user@host:465")
        if parts.password is not None:
            raise ValueError("KEFU_SMTP_URL: do not put the password in the URL; "
                             f"set KEFU_SMTP_PASSWORD or the Prefect Secret block {SECRET_BLOCK!r}")
        if not parts.hostname:
            raise ValueError(f"KEFU_SMTP_URL: no host in {url!r}")
        default_port, self.ssl, self.starttls = _SCHEMES[parts.scheme]
        self.host = parts.hostname
        self.port = parts.port or default_port
        self.user = unquote(parts.username) if parts.username else None
        settings = get_settings()
        self.sender = sender or settings.mail_from
        self.sender_name = sender_name if sender_name is not None else settings.mail_from_name
        self.timeout = timeout
        self._password = SecretStr(password) if password is not None else settings.smtp_password
        self._secret = secret

    def __repr__(self) -> str:  # never the password
        user = f"{self.user}@" if self.user else ""
        scheme = "smtps" if self.ssl else "smtp+starttls" if self.starttls else "smtp"
        return f"SmtpTransport('{scheme}://{user}{self.host}:{self.port}')"

    def _password_value(self) -> str:
        if self._password is None:
            try:
                if self._secret is None:
                    raise LookupError("no secret store")
                self._password = SecretStr(self._secret())
            except Exception as exc:
                raise RuntimeError(
                    f"SMTP user {self.user!r} needs a password: set KEFU_SMTP_PASSWORD or create the "
                    f"Prefect Secret block {SECRET_BLOCK!r} ({type(exc).__name__})"
                ) from None
        return self._password.get_secret_value()

    def _client(self) -> Any:
        import yagmail

        # yagmail appends @gmail.com to a user without "@"; a {address: alias} dict is taken as
        # is. With no user we skip the login and yagmail only needs some address to hold.
        user = self.user or self.sender
        return yagmail.SMTP(
            user={user: user}, password=self._password_value() if self.user else None,
            host=self.host, port=self.port, smtp_ssl=self.ssl, smtp_starttls=self.starttls,
            smtp_skip_login=self.user is None, soft_email_validation=False, timeout=self.timeout,
        )

    def send(self, mail: OutgoingMail) -> None:
        import smtplib  # for its exception type only

        message = build_email(mail, sender=self.sender, sender_name=self.sender_name)
        yag = self._client()
        try:
            yag.login()  # connect, SSL/STARTTLS, AUTH as configured
            refused = yag.smtp.sendmail(self.sender, mail.to, wire_bytes(message))
        finally:
            yag.close()
        if refused:  # some recipients refused, others accepted: a person must look
            raise smtplib.SMTPRecipientsRefused(refused)


def transport_from_settings(secret: Callable[[], str] | None = None) -> Transport:
    """SMTP when ``KEFU_SMTP_URL`` is set (``secret``: where a password not in the environment
    is kept), else ``.eml`` files under ``KEFU_OUTBOX_DIR``."""
    settings = get_settings()
    if settings.smtp_url:
        return SmtpTransport(settings.smtp_url, secret=secret)
    return FileTransport(settings.resolved_outbox_dir)


# -- delivery -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int
    pending_left: int


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, … minutes after the 1st, 2nd, 3rd … failed attempt; at most an hour."""
    return min(timedelta(minutes=2 ** min(max(attempts - 1, 0), 10)), MAX_BACKOFF)


def _claim(engine: Engine, limit: int) -> tuple[str, list[OutgoingMail]]:
    """Lease up to ``limit`` due rows to a fresh token; returns (token, the claimed mails)."""
    table = OutboxMessage.__table__
    c = table.c
    now = clock.now()
    token = uuid.uuid4().hex
    with engine.begin() as conn:
        select = (sa.select(c.id).where(c.next_attempt_at <= now)
                  .order_by(c.next_attempt_at, c.id).limit(limit))
        if conn.dialect.name == "postgresql":
            select = select.with_for_update(skip_locked=True)
        ids = list(conn.execute(select).scalars())
        if not ids:
            return token, []
        # Re-check due-ness in the UPDATE: on SQLite another deliverer may have claimed a row
        # between our SELECT and this write.
        conn.execute(
            table.update().where(c.id.in_(ids), c.next_attempt_at <= now)
            .values(status=SENDING, lease_token=token, claimed_until=now + LEASE,
                    next_attempt_at=now + LEASE, attempts=c.attempts + 1)
        )
        rows = conn.execute(sa.select(table).where(c.lease_token == token).order_by(c.id)).mappings().all()
        claimed = []
        for row in rows:
            message_id = row["message_id"] or message_id_for(row["id"], row["key"])
            if row["message_id"] is None:
                conn.execute(table.update().where(c.id == row["id"]).values(message_id=message_id))
            claimed.append(OutgoingMail(id=row["id"], key=row["key"], to=list(row["to"]),
                                        subject=row["subject"], text=row["text"], html=row["html"],
                                        message_id=message_id, created_at=row["created_at"],
                                        channel=row["channel"],
                                        attachments=tuple(Attachment.from_stored(a) for a in row["attachments"] or ())))
    return token, claimed


def _mark(engine: Engine, token: str, mail_id: int, error: str | None) -> None:
    table = OutboxMessage.__table__
    c = table.c
    now = clock.now()
    with engine.begin() as conn:
        if error is None:
            values: dict[str, Any] = dict(status=SENT, sent_at=now, next_attempt_at=None,
                                          claimed_until=None, lease_token=None, last_error=None)
        else:
            attempts = conn.execute(sa.select(c.attempts).where(c.id == mail_id)).scalar_one()
            retry_at = now + backoff(attempts) if attempts < MAX_AUTOMATIC_ATTEMPTS else None
            values = dict(status=FAILED, next_attempt_at=retry_at, claimed_until=None,
                          lease_token=None, last_error=error[:2000])
        # Fenced: only the deliverer that still holds the lease writes the outcome.
        conn.execute(table.update().where(c.id == mail_id, c.lease_token == token).values(**values))


def deliver_due(engine: Engine, transport: Transport, *, limit: int = 500) -> DeliveryReport:
    """Claim, send and mark up to ``limit`` due messages; see the module docstring."""
    sent = failed = 0
    handled = 0
    while handled < limit:
        token, batch = _claim(engine, min(CLAIM_BATCH, limit - handled))
        if not batch:
            break
        for mail in batch:
            handled += 1
            try:
                transport.send(mail)
            except Exception as exc:  # the message stays; the error is recorded, never raised
                failed += 1
                log.warning("mail %s (%s) not delivered: %s", mail.id, mail.key, exc)
                _mark(engine, token, mail.id, f"{type(exc).__name__}: {exc}")
            else:
                sent += 1
                _mark(engine, token, mail.id, None)
    return DeliveryReport(sent=sent, failed=failed, pending_left=pending_count(engine))


def pending_count(engine: Engine) -> int:
    """Messages not yet sent (pending, sending, or failed), due or not."""
    c = OutboxMessage.__table__.c
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(c.status != SENT)).scalar_one()


def retry_failed(engine: Engine) -> int:
    """Make every failed message due now (parked ones included); returns how many."""
    table = OutboxMessage.__table__
    with engine.begin() as conn:
        return conn.execute(
            table.update().where(table.c.status == FAILED).values(next_attempt_at=clock.now())
        ).rowcount


# -- templates ----------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _environment(directory: str) -> jinja2.Environment:
    # HTML templates autoescape (a customer's name is data, not markup); text ones do not.
    return environment(directory, keep_trailing_newline=True, autoescape=jinja2.select_autoescape(
        enabled_extensions=("html.j2",), default_for_string=False))


def templates(rules_dir: Path | str) -> jinja2.Environment:
    """The mail templates (``<rules_dir>/templates``), HTML ones autoescaped."""
    return _environment(str(Path(rules_dir) / "templates"))


def render_message(rules_dir: Path | str, name: str, **context: Any) -> tuple[str, str, str]:
    """Render ``<rules_dir>/templates/<name>.{subject,txt,html}.j2`` → (subject, text, html)."""
    env = templates(rules_dir)
    subject = " ".join(env.get_template(f"{name}.subject.j2").render(**context).split())
    text = env.get_template(f"{name}.txt.j2").render(**context).strip() + "\n"
    html = env.get_template(f"{name}.html.j2").render(**context).strip() + "\n"
    return subject, text, html
