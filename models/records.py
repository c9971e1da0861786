"""The tables. The event log is the truth; ``kefu_case`` and ``kefu_deadline`` are
projections of it, rewritten in the same transaction as the events they follow from,
so listing cases and finding due deadlines are indexed queries, not replays."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, naive UTC in the column.

    SQLite silently drops offsets, so every database stores UTC and nothing else."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing to store naive datetime {value.isoformat()}")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Case(SQLModel, table=True):
    __tablename__ = "kefu_case"

    id: str = Field(primary_key=True, max_length=40)
    process: str = Field(index=True, max_length=20)
    kind: str = Field(max_length=20)
    severity: str | None = Field(default=None, max_length=20)
    status: str = Field(index=True, max_length=10)
    step: str | None = Field(default=None, index=True, max_length=30)
    customer_name: str = Field(max_length=200)
    customer_phone: str = Field(default="", max_length=40)  # masked: 138****5678
    owner: str | None = Field(default=None, index=True, max_length=80)
    opened_at: datetime = utc_column()
    closed_at: datetime | None = utc_column(nullable=True)
    last_seq: int = 0
    flow_run_id: str | None = Field(default=None, max_length=40)
    # The head of the case's hash chain (the hash of event ``last_seq``): where the next event
    # links, so writers chain without reading the log (kefu.core.chain).
    last_hash: str | None = Field(default=None, max_length=64)
    # A closed case's seal over its whole chain (kefu.core.chain.seal_of): a record cut short
    # at its end no longer matches it.
    seal: str | None = Field(default=None, max_length=64)


class CaseEvent(SQLModel, table=True):
    __tablename__ = "kefu_event"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "seq", name="uq_event_case_seq"),
        # A step that may run twice (a resumed flow, a retried task) records once.
        sa.UniqueConstraint("case_id", "idem_key", name="uq_event_case_idem"),
        # When a person last did anything (an order's agent counts as offline after a quiet spell):
        # the newest event by that actor, one index probe instead of a scan of the whole log.
        sa.Index("ix_event_actor_at", "actor", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="kefu_case.id", max_length=40)
    seq: int
    type: str = Field(max_length=60)
    actor: str = Field(max_length=80)
    at: datetime = utc_column()
    recorded_at: datetime = utc_column()
    idem_key: str | None = Field(default=None, max_length=120)
    config_version: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The hash chain (kefu.core.chain): the previous event's hash ("" for the first) and this
    # event's hash over its canonical form, which includes ``prev_hash``.
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(default="", max_length=64)


class ConfigSnapshot(SQLModel, table=True):
    """The config files of a rules version, as they were when the version was first used: replay
    loads the rules in force at the time from here."""

    __tablename__ = "kefu_config_snapshot"

    version: str = Field(primary_key=True, max_length=64)
    files: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    recorded_at: datetime = utc_column()


class ImportedCase(SQLModel, table=True):
    """A case of another helpdesk's event log, imported read-only (``kefu audit import``); never a
    live kefu case."""

    __tablename__ = "kefu_imported_case"
    __table_args__ = (sa.UniqueConstraint("batch", "case_ref", name="uq_imported_case_batch_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    batch: str = Field(index=True, max_length=40)
    case_ref: str = Field(max_length=200)
    events: int
    variant: str = Field(max_length=64)  # hash of the activity sequence
    started_at: datetime = utc_column()
    ended_at: datetime = utc_column()


class ImportedEvent(SQLModel, table=True):
    __tablename__ = "kefu_imported_event"

    id: int | None = Field(default=None, primary_key=True)
    batch: str = Field(index=True, max_length=40)
    case_ref: str = Field(max_length=200)
    activity: str = Field(max_length=200)
    at: datetime = utc_column()
    resource: str = Field(default="", max_length=200)
    lifecycle: str = Field(default="", max_length=40)


class ImportBatch(SQLModel, table=True):
    """One import: where it came from, with which mapping, what it held, and the rows it refused."""

    __tablename__ = "kefu_import_batch"

    id: str = Field(primary_key=True, max_length=40)
    source: str = Field(max_length=500)
    format: str = Field(max_length=10)
    mapping: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    imported_at: datetime = utc_column()
    statistics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class QuarantinedRow(SQLModel, table=True):
    """A row an import refused, with where it was and why: never dropped silently."""

    __tablename__ = "kefu_import_quarantine"

    id: int | None = Field(default=None, primary_key=True)
    batch: str = Field(index=True, max_length=40)
    position: str = Field(max_length=40)  # CSV line number, or trace/event index in XES; a file's row number
    reason: str = Field(max_length=500)
    row: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # A validated intake's row (kefu intake): the first field it broke and the value there, and the
    # row's own id in its source (a row fixed and imported again is no longer held).
    field: str | None = Field(default=None, max_length=60)
    value: str | None = Field(default=None, max_length=500)
    target: str | None = Field(default=None, max_length=40)
    source: str | None = Field(default=None, max_length=80)
    external_id: str | None = Field(default=None, max_length=200)
    # The last kefu_intake_key id when the row was held: a key written after it (the row fixed and
    # imported again) releases it; the key it conflicted with does not.
    keys_before: int | None = None


class IntakeKey(SQLModel, table=True):
    """A file row kefu took in, by its id in its source: a re-import of the same file finds it here
    and imports nothing twice; the fingerprint (of the row as kefu read it) tells a repeat from a
    different row under the same id."""

    __tablename__ = "kefu_intake_key"
    __table_args__ = (sa.UniqueConstraint("target", "source", "external_id", name="uq_intake_key"),)

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(max_length=40)  # complaints | customers | …
    source: str = Field(max_length=80)
    external_id: str = Field(max_length=200)
    fingerprint: str = Field(max_length=64)
    case_id: str = Field(max_length=40)
    batch: str = Field(max_length=40)
    row: int


class Deadline(SQLModel, table=True):
    __tablename__ = "kefu_deadline"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "step", "round", name="uq_deadline_case_step_round"),
        # The sweep asks only for open deadlines whose next rung is due: its cost follows what is
        # due, not how many deadlines are open.
        sa.Index(
            "ix_deadline_next_rung_due",
            "next_rung_at",
            postgresql_where=sa.text("met_at IS NULL AND next_rung_at IS NOT NULL"),
            sqlite_where=sa.text("met_at IS NULL AND next_rung_at IS NOT NULL"),
        ),
        sa.Index(
            "ix_deadline_open_due",
            "due_at",
            postgresql_where=sa.text("met_at IS NULL"),
            sqlite_where=sa.text("met_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="kefu_case.id", index=True, max_length=40)
    step: str = Field(max_length=30)
    round: int = 1
    opened_at: datetime = utc_column()
    due_at: datetime | None = utc_column(nullable=True)  # None while the customer has the clock stopped
    met_at: datetime | None = utc_column(nullable=True)
    policy: str = Field(max_length=200)
    allowed: str = Field(default="", max_length=60)
    ladder: str = Field(default="", max_length=60)
    rungs: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The next rung of the ladder and when it fires: what the sweep looks up.
    next_rung: int = 0
    next_rung_at: datetime | None = utc_column(nullable=True)


class StaffCredential(SQLModel, table=True):
    """A staff member's personal credential: a token for the CLI or a PIN for the dashboard's
    forms. Only its argon2 hash is kept; the secret is shown once, when it is issued."""

    __tablename__ = "kefu_credential"

    id: str = Field(primary_key=True, max_length=16)  # a token's public half: kefu_<id>.<secret>
    staff: str = Field(index=True, max_length=80)
    kind: str = Field(max_length=10)  # token | pin
    secret_hash: str = Field(max_length=200)
    issued_at: datetime = utc_column()
    expires_at: datetime | None = utc_column(nullable=True)
    revoked_at: datetime | None = utc_column(nullable=True)
    # Wrong PINs in a row: at access.pin_attempts the PIN is revoked (a six-digit PIN must not be
    # guessable by trying).
    failures: int = 0


class StaffAbsence(SQLModel, table=True):
    """A span a staff member is away (leave 请假, training, …), both days included: kefu gives them
    no new customer or callback then (kefu.core.availability)."""

    __tablename__ = "kefu_staff_absence"
    __table_args__ = (sa.UniqueConstraint("staff", "first_day", name="uq_absence_staff_day"),)

    id: int | None = Field(default=None, primary_key=True)
    staff: str = Field(index=True, max_length=80)
    first_day: date
    last_day: date
    reason: str = Field(max_length=500)
    recorded_by: str = Field(max_length=80)
    recorded_at: datetime = utc_column()
