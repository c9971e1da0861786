"""The outbox: every message kefu sends (an e-mail to staff, a customer's e-mail, SMS or chat
message) is first a row here, written in the same transaction as the thing that caused it (a
sweep's escalation, an intake, a customer notice), then delivered by
:func:`kefu.escalation.mail.deliver_due`. See kefu/escalation/mail.py for the delivery guarantees."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from models.records import utc_column

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
STATUSES = (PENDING, SENDING, SENT, FAILED)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "kefu_outbox"
    __table_args__ = (
        # What the deliverer asks for: rows whose next attempt is due. ``next_attempt_at`` is
        # set for pending rows, for failed rows that will be retried, and for sending rows
        # (= the lease's expiry); it is NULL for sent rows and for failed rows parked for a
        # person, so the index holds only the work that is left.
        sa.Index(
            "ix_outbox_due",
            "next_attempt_at",
            postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
            sqlite_where=sa.text("next_attempt_at IS NOT NULL"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed')", name="ck_outbox_status"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The idempotency key of what caused the mail, e.g. "escalation-digest:<sweep>:<staff>".
    key: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    # email, sms or chat (kefu.escalation.channels); a database from before customer messages
    # gets the column with its rows as e-mail (kefu.db adds a missing column with its default).
    channel: str = Field(default="email", max_length=10, sa_column_kwargs={"server_default": "email"})
    # E-mail addresses, or the one phone number / chat id of a customer message.
    to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    subject: str = Field(max_length=500)
    text: str = Field(sa_column=Column(sa.Text, nullable=False))
    html: str = Field(sa_column=Column(sa.Text, nullable=False))
    # Files that go with an e-mail (a report's workbook; its chart, shown inside the HTML by its
    # ``cid``): ``{"filename", "content_type", "data": base64, "cid": None | "chart"}`` each.
    attachments: list[dict] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status: str = Field(default=PENDING, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime | None = utc_column(nullable=True)
    claimed_until: datetime | None = utc_column(nullable=True)
    # Fences a deliverer whose lease expired: it may only mark the row it still holds.
    lease_token: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, sa_column=Column(sa.Text, nullable=True))
    created_at: datetime = utc_column()
    sent_at: datetime | None = utc_column(nullable=True)
    # <kefu-<id>-<key hash>@kefu.local>, fixed at the first claim: a resend carries it again.
    message_id: str | None = Field(default=None, max_length=200)
