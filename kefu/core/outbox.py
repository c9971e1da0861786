"""The outbox's one way in: a message row written in the caller's open transaction, so the
thing that caused it and the message commit together or not at all (models/outbox.py;
delivery: kefu/escalation/mail.py). Staff mail comes through ``kefu.escalation.mail.enqueue``,
customer messages through ``kefu.core.customer_messages``."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from kefu.core import clock
from models.outbox import PENDING, OutboxMessage


def put(session: Session, *, key: str, channel: str, to: list[str], subject: str, text: str, html: str,
        due_at: datetime | None = None, attachments: list[dict] | None = None) -> bool:
    """Add a message due at ``due_at`` (now by default); False if ``key`` was already queued.

    The row's ``key`` is the idempotency key of its cause: putting the same key again adds
    nothing (INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike), so a retried step
    never sends twice. Does not commit: the caller's commit sends the message on its way, its
    rollback cancels it."""
    subject = " ".join(subject.split())  # one line: no header injection, no folding surprises
    now = clock.now()
    values = dict(key=key, channel=channel, to=to, subject=subject, text=text, html=html, status=PENDING,
                  attempts=0, next_attempt_at=due_at or now, created_at=now, attachments=attachments or None)
    table = OutboxMessage.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - kefu runs on SQLite and PostgreSQL
        raise RuntimeError(f"kefu's outbox does not support {dialect}")
    statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=["key"])
    # RETURNING, not rowcount: with an implicit RETURNING the driver's rowcount is unreliable.
    return session.execute(statement.returning(table.c.id)).first() is not None
