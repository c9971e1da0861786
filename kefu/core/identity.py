"""Who decided is who decided: staff credentials, their verification, and the stamp every
recorded event of a person carries.

A person proves who they are with a personal credential: a token on the CLI (``KEFU_TOKEN`` or
``kefu login``), a PIN in the dashboard's forms (Prefect's open-source server has no login of its
own). kefu keeps only argon2 hashes of them, in its own database (never in config). A decision is
recorded for the verified person; naming somebody else (``--by``) is refused unless the rules make
the caller that person's deputy at that step, and then the event records both.

Which identity is acting is the context of one request (one CLI command, one form answer), like
a web framework's current user: :func:`acting_as` sets it around the write, and the store stamps
each event whose actor is that person (``payload["verified"]``) before it is hash-chained, so the
stamp is as tamper-evident as the decision. Events by kefu itself carry ``{"method": "system"}``.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from kefu.core.refusals import InputRefused, unknown_staff
from models.records import StaffCredential

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from kefu.core.rules import AccessRules, Rules

# kefu's own actor: sweeps, schedules and the steps a flow run takes by itself.
SYSTEM = "kefu"

CLI_TOKEN, FORM_PIN, DEPUTY, SYSTEM_METHOD = "cli-token", "form-pin", "deputy", "system"
TOKEN, PIN = "token", "pin"
_PREFIX = "kefu_"

HOW_TO_GET_A_TOKEN = ("ask kefu's administrator for your token (`kefu staff token issue YOUR_ID` on the machine "
                      "that runs kefu), then run `kefu login` or set KEFU_TOKEN")


@dataclass(frozen=True)
class Verified:
    """A person whose credential checked out, and how (``cli-token`` or ``form-pin``)."""

    staff: str
    method: str


@dataclass(frozen=True)
class Acting:
    """Who a decision is recorded for (``by``) and who verifiably made it."""

    by: str
    verified: Verified

    @property
    def stamp(self) -> dict[str, str]:
        """What the event says about how its actor was verified."""
        if self.by == self.verified.staff:
            return {"method": self.verified.method, "staff": self.by}
        return {"method": DEPUTY, "staff": self.verified.staff, "for": self.by, "via": self.verified.method}


_ACTING: ContextVar[Acting | None] = ContextVar("kefu_acting", default=None)


def is_system(actor: str) -> bool:
    """kefu itself (``kefu``) or one of its parts (``kefu.sweep``), not a person."""
    return actor == SYSTEM or actor.startswith(SYSTEM + ".")


@contextmanager
def acting_as(acting: Acting) -> Iterator[Acting]:
    """Record what happens inside as done by ``acting`` (one command, one form answer)."""
    token = _ACTING.set(acting)
    try:
        yield acting
    finally:
        _ACTING.reset(token)


def stamped(actor: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload of an event by ``actor``, with how its actor was verified when that is known."""
    acting = _ACTING.get()
    if is_system(actor):
        return {**payload, "verified": {"method": SYSTEM_METHOD}}
    if acting is not None and actor == acting.by and "verified" not in payload:
        return {**payload, "verified": acting.stamp}
    return payload


# -- credentials ------------------------------------------------------------------------------------

def _known(rules: "Rules", staff: str) -> None:
    if rules.staff_member(staff) is None:
        raise unknown_staff(staff)


def issue_token(engine: Engine, rules: "Rules", staff: str, now: datetime, days: int | None = None) -> str:
    """A new personal token for ``staff`` (shown once; only its hash is kept). Earlier tokens stay
    valid until they expire or are revoked."""
    _known(rules, staff)
    days = days if days is not None else _access(rules).token_days
    if days < 1:
        raise InputRefused("expires", f"{days} days is no validity", "give --expires 1 or more days")
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(24)
    _store(engine, StaffCredential(id=token_id, staff=staff, kind=TOKEN, secret_hash=_hasher().hash(secret),
                                   issued_at=now, expires_at=now + timedelta(days=days)))
    return f"{_PREFIX}{token_id}.{secret}"


def issue_pin(engine: Engine, rules: "Rules", staff: str, now: datetime) -> str:
    """A new dashboard PIN for ``staff`` (shown once); it replaces the one they had."""
    _known(rules, staff)
    pin = "".join(secrets.choice("0123456789") for _ in range(_access(rules).pin_digits))
    with Session(engine) as session, session.begin():
        session.execute(sa.update(StaffCredential).where(*_live(staff, PIN)).values(revoked_at=now))
        session.add(StaffCredential(id=secrets.token_hex(6), staff=staff, kind=PIN, secret_hash=_hasher().hash(pin),
                                    issued_at=now))
    return pin


def revoke(engine: Engine, rules: "Rules", staff: str, kind: str, now: datetime) -> int:
    """Revoke every valid credential of ``kind`` that ``staff`` holds; how many were revoked."""
    _known(rules, staff)
    with Session(engine) as session, session.begin():
        result = session.execute(sa.update(StaffCredential).where(*_live(staff, kind)).values(revoked_at=now))
        return result.rowcount or 0  # type: ignore[attr-defined]


def valid_credentials(engine: Engine, now: datetime) -> list[StaffCredential]:
    """Every credential neither revoked nor expired, oldest first."""
    with Session(engine) as session:
        rows = session.exec(select(StaffCredential).where(StaffCredential.revoked_at.is_(None))  # type: ignore[union-attr]
                            .order_by(StaffCredential.issued_at)).all()
    return [r for r in rows if r.expires_at is None or r.expires_at > now]


def verify_token(engine: Engine, rules: "Rules", token: str, now: datetime) -> Verified:
    """The staff member a CLI token belongs to; refused (field ``token``) if it is not a valid one."""
    token = token.strip()
    token_id, _, secret = token.removeprefix(_PREFIX).partition(".")
    if not token.startswith(_PREFIX) or not secret:
        raise InputRefused("token", "this is not a kefu token (they look like kefu_xxxxxxxxxxxx.…)", HOW_TO_GET_A_TOKEN)
    with Session(engine) as session:
        row = session.get(StaffCredential, token_id)
    if row is None or row.kind != TOKEN or not _matches(row.secret_hash, secret):
        raise InputRefused("token", "this token is not one kefu issued", HOW_TO_GET_A_TOKEN)
    _still_valid(row, now)
    _known(rules, row.staff)
    return Verified(row.staff, CLI_TOKEN)


def verify_pin(engine: Engine, rules: "Rules", staff: str, pin: str, now: datetime) -> Verified:
    """``staff`` if ``pin`` is their valid dashboard PIN (or one of their tokens); refused (field
    ``pin``) otherwise, without saying which part was wrong."""
    _known(rules, staff)
    with Session(engine) as session:
        rows = session.exec(select(StaffCredential).where(StaffCredential.staff == staff,
                                                          StaffCredential.revoked_at.is_(None))).all()  # type: ignore[union-attr]
    secret = pin.strip().removeprefix(_PREFIX)
    for row in rows:
        if row.kind == PIN:
            candidate = secret
        elif secret.startswith(f"{row.id}."):  # a token typed into the form: its secret half
            candidate = secret.split(".", 1)[1]
        else:
            continue
        if _matches(row.secret_hash, candidate):
            _still_valid(row, now)
            _forgive_failures(engine, staff)
            return Verified(staff, FORM_PIN)
    if _one_more_failure(engine, staff, _access(rules).pin_attempts, now):
        raise InputRefused("pin", f"too many wrong PINs for {staff}: their PIN is revoked",
                           f"ask kefu's administrator for a new one (`kefu staff pin issue {staff}`)")
    raise InputRefused("pin", f"this is not the PIN of {staff}",
                       f"enter your own PIN; forgotten or never issued: ask kefu's administrator (`kefu staff pin issue {staff}`)")


def _live(staff: str, kind: str) -> tuple[Any, ...]:
    """The where-clause of ``staff``'s credentials of ``kind`` that are not revoked."""
    return (StaffCredential.staff == staff, StaffCredential.kind == kind,  # type: ignore[arg-type]
            StaffCredential.revoked_at.is_(None))  # type: ignore[union-attr]


def _forgive_failures(engine: Engine, staff: str) -> None:
    """The right PIN: the count of wrong ones starts again."""
    with Session(engine) as session, session.begin():
        session.execute(sa.update(StaffCredential).where(*_live(staff, PIN)).values(failures=0))


def _one_more_failure(engine: Engine, staff: str, limit: int, now: datetime) -> bool:
    """A wrong PIN for ``staff``: count it; True if that reached ``limit`` and the PIN is revoked."""
    with Session(engine) as session, session.begin():
        session.execute(sa.update(StaffCredential).where(*_live(staff, PIN))
                        .values(failures=StaffCredential.failures + 1))
        locked = session.execute(sa.update(StaffCredential)
                                 .where(*_live(staff, PIN), StaffCredential.failures >= limit)  # type: ignore[arg-type]
                                 .values(revoked_at=now)).rowcount  # type: ignore[attr-defined]
    return bool(locked)


def acting_for(rules: "Rules", verified: Verified, by: str | None, step: str | None = None) -> Acting:
    """Who the decision is recorded for: the caller, or (``by``) the person the caller is a deputy
    for at ``step``; refused (field ``by``) if the caller may not act for them."""
    if by is None or by == verified.staff:
        return Acting(verified.staff, verified)
    member = rules.staff_member(by)
    if member is None:
        raise unknown_staff(by)
    deputies = _access(rules).deputies
    if step is not None and any(d.staff == verified.staff and d.role == member.role and step in d.steps
                                for d in deputies):
        return Acting(by, verified)
    raise InputRefused("by", f"you are {verified.staff} ({verified.method}): a decision is recorded for the person who "
                             f"made it, not for {by}",
                       f"leave out --by to act as yourself, or ask {by} to decide"
                       + ("" if step is None else f" (department.yaml access.deputies names who may stand in at {step})"))


def _access(rules: "Rules") -> "AccessRules":
    from kefu.core.rules import AccessRules

    return rules.department.access or AccessRules()


@cache
def _hasher() -> "PasswordHasher":
    """argon2, imported when a credential is issued or checked: the store imports this module in
    every process (each resumed flow run), and most of them check no credential."""
    from argon2 import PasswordHasher

    return PasswordHasher()


def _matches(secret_hash: str, secret: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError


    try:
        return _hasher().verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def _still_valid(row: StaffCredential, now: datetime) -> None:
    what = "token" if row.kind == TOKEN else "PIN"
    field = "token" if row.kind == TOKEN else "pin"
    if row.revoked_at is not None:
        raise InputRefused(field, f"this {what} of {row.staff} was revoked on {row.revoked_at:%Y-%m-%d}",
                           f"ask kefu's administrator for a new one (`kefu staff {field} issue {row.staff}`)")
    if row.expires_at is not None and row.expires_at <= now:
        raise InputRefused(field, f"this {what} of {row.staff} expired on {row.expires_at:%Y-%m-%d}",
                           f"ask kefu's administrator for a new one (`kefu staff {field} issue {row.staff}`)")


def _store(engine: Engine, row: StaffCredential) -> None:
    with Session(engine) as session, session.begin():
        session.add(row)


# -- the auditor's question ---------------------------------------------------------------------------

def unverified(rules: "Rules", step: str | None, actor: str, payload: dict[str, Any]) -> tuple[str, Any] | None:
    """Why an event by ``actor`` at ``step`` lacks the verified identity the rules of its time
    require — ``(expected, recorded)`` — or None. Rules without ``access`` required none."""
    access = rules.department.access
    if access is None or not access.verified_decisions:
        return None
    verified = payload.get("verified")
    if is_system(actor):
        return None if verified == {"method": SYSTEM_METHOD} else ("method system for kefu's own steps", verified)
    member = rules.staff_member(actor)
    if member is None:
        return None  # not a person kefu knows (a customer's own booking): nothing to verify
    if not isinstance(verified, dict):
        return (f"{actor} verified by token or PIN", verified)
    method, who = verified.get("method"), verified.get("staff")
    if method in (CLI_TOKEN, FORM_PIN) and who == actor:
        return None
    if method == DEPUTY and verified.get("for") == actor and verified.get("via") in (CLI_TOKEN, FORM_PIN) and any(
            d.staff == who and d.role == member.role and step in d.steps for d in access.deputies):
        return None
    return (f"{actor}, or a deputy the rules name for a {member.role} at {step}", verified)
