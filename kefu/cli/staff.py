"""``kefu staff`` (the roster and who can sign in), ``kefu staff token|pin …`` (personal
credentials, issued on the machine that holds kefu's database: access to it is the
administrator's) and ``kefu login`` / ``logout`` / ``whoami`` (the caller's own token)."""

from __future__ import annotations

import os
from typing import Optional

import typer

from kefu import runtime
from kefu.cli.support import BadInput, JsonOpt, caller, command, emit, local_iso, parse_day, token_file
from kefu.core import clock, identity
from kefu.executor import service

staff_app = typer.Typer(help="The roster, and the staff's personal credentials.")
token_app = typer.Typer(no_args_is_help=True, help="Personal CLI tokens (KEFU_TOKEN, `kefu login`).")
pin_app = typer.Typer(no_args_is_help=True, help="Dashboard PINs: the forms ask for them.")
staff_app.add_typer(token_app, name="token")
staff_app.add_typer(pin_app, name="pin")


@staff_app.callback(invoke_without_command=True)
@command
def staff(ctx: typer.Context, role: Optional[str] = typer.Option(None, "--role"), as_json: bool = JsonOpt) -> None:
    """The roster: id, name, role, e-mail, and who holds a valid token and PIN."""
    if ctx.invoked_subcommand is not None:
        return
    rules = runtime.rules()
    if role is not None and role not in rules.department.all_roles:
        raise BadInput("role", f"unknown role {role!r}", f"use one of {', '.join(rules.department.all_roles)}")
    valid = identity.valid_credentials(runtime.store().engine, clock.now())
    rows = []
    for s in rules.department.staff:
        if role is None or s.role == role:
            tokens = [c for c in valid if c.staff == s.id and c.kind == identity.TOKEN]
            rows.append({**s.model_dump(), "token_until": local_iso(max(c.expires_at for c in tokens)) if tokens else None,
                         "pin": any(c.staff == s.id and c.kind == identity.PIN for c in valid)})
    emit(as_json, rows, "\n".join(
        f"{r['id']:<12} {r['name']:<6} {r['role']:<11} {r['email']:<26} "
        f"token {('until ' + r['token_until'][:10]) if r['token_until'] else '-':<16} pin {'yes' if r['pin'] else '-'}"
        for r in rows))


@token_app.command("issue")
@command
def token_issue(staff_id: str = typer.Argument(..., help="The staff member's id."),
                expires: Optional[int] = typer.Option(None, "--expires", help="Days it stays valid "
                                                      "(default: department.yaml access.token_days)."),
                as_json: bool = JsonOpt) -> None:
    """Issue a personal token (shown once: hand it to the person; kefu keeps only its hash)."""
    token = identity.issue_token(runtime.store().engine, runtime.rules(), staff_id, clock.now(), expires)
    emit(as_json, {"staff": staff_id, "token": token}, token)
    if not as_json:
        typer.echo(f"  {staff_id}: `kefu login` with it, or export KEFU_TOKEN; it is not shown again", err=True)


@token_app.command("revoke")
@command
def token_revoke(staff_id: str = typer.Argument(...), as_json: bool = JsonOpt) -> None:
    """Revoke every valid token of a staff member (a lost laptop, a leaver)."""
    count = identity.revoke(runtime.store().engine, runtime.rules(), staff_id, identity.TOKEN, clock.now())
    emit(as_json, {"staff": staff_id, "revoked": count}, f"{staff_id}: {count} token(s) revoked")


@token_app.command("list")
@command
def token_list(as_json: bool = JsonOpt) -> None:
    """The valid tokens: whose, issued and expiring when (never the secret)."""
    rows = [{"id": c.id, "staff": c.staff, "issued_at": local_iso(c.issued_at), "expires_at": local_iso(c.expires_at)}
            for c in identity.valid_credentials(runtime.store().engine, clock.now()) if c.kind == identity.TOKEN]
    emit(as_json, rows, "\n".join(f"{r['id']}  {r['staff']:<12} issued {r['issued_at'][:16]}  expires "
                                  f"{r['expires_at'][:16]}" for r in rows) or "(no valid tokens)")


@pin_app.command("issue")
@command
def pin_issue(staff_id: str = typer.Argument(...), as_json: bool = JsonOpt) -> None:
    """Issue a dashboard PIN (replacing the person's old one; shown once)."""
    pin = identity.issue_pin(runtime.store().engine, runtime.rules(), staff_id, clock.now())
    emit(as_json, {"staff": staff_id, "pin": pin}, pin)


@pin_app.command("revoke")
@command
def pin_revoke(staff_id: str = typer.Argument(...), as_json: bool = JsonOpt) -> None:
    """Revoke a staff member's dashboard PIN."""
    count = identity.revoke(runtime.store().engine, runtime.rules(), staff_id, identity.PIN, clock.now())
    emit(as_json, {"staff": staff_id, "revoked": count}, f"{staff_id}: {count} PIN(s) revoked")


@command
def login(token: Optional[str] = typer.Option(None, "--token", help="Your token (default: asked for, hidden)."),
          as_json: bool = JsonOpt) -> None:
    """Sign in on this machine: check your token and keep it in your own config folder (0600)."""
    token = token or typer.prompt("token", hide_input=True)
    verified = identity.verify_token(runtime.store().engine, runtime.rules(), token, clock.now())
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token.strip() + "\n")
    os.chmod(path, 0o600)  # an existing file keeps its mode on open
    emit(as_json, {"staff": verified.staff}, f"signed in as {verified.staff}")


@command
def logout(as_json: bool = JsonOpt) -> None:
    """Forget the token `kefu login` kept."""
    existed = token_file().is_file()
    token_file().unlink(missing_ok=True)
    emit(as_json, {"signed_out": existed}, "signed out" if existed else "you were not signed in")


@command
def whoami(as_json: bool = JsonOpt) -> None:
    """Who kefu records your decisions for."""
    verified = caller()
    member = runtime.rules().staff_member(verified.staff)
    emit(as_json, {"staff": verified.staff, "role": member.role if member else None},
         f"{verified.staff} ({member.role if member else '?'})")


@staff_app.command("away")
@command
def staff_away(
    staff_id: Optional[str] = typer.Argument(None, help="Who is away (none: list the absences from today on)."),
    first: Optional[str] = typer.Option(None, "--from", help="First day away (YYYY-MM-DD)."),
    last: Optional[str] = typer.Option(None, "--to", help="Last day away, inclusive (default: --from)."),
    reason: str = typer.Option("", "--reason", help="Why: leave 请假, training, …"),
    by: Optional[str] = typer.Option(None, "--by", help="Who records it (default: you, from your token)."),
    as_json: bool = JsonOpt,
) -> None:
    """Record that someone is away (supervisors and above): no new customers or callbacks for them then."""
    from kefu.core import availability

    rules, store = runtime.rules(), runtime.store()
    today = clock.now().astimezone(rules.department.department.zone).date()
    if staff_id is not None:
        if first is None:
            raise BadInput("from", "missing", "give the first day away with --from YYYY-MM-DD")
        start = parse_day(first, "from")
        with service.acting(caller(), by) as who:
            availability.record_absence(store, rules, staff_id, start, parse_day(last, "to") if last else start,
                                        reason, who.by)
    rows = [{"staff": a.staff, "from": a.first_day.isoformat(), "to": a.last_day.isoformat(), "reason": a.reason,
             "recorded_by": a.recorded_by} for a in availability.absences(store, today)]
    emit(as_json, rows, "\n".join(f"{r['staff']:<12} {r['from']} – {r['to']}  {r['reason']}  (by {r['recorded_by']})"
                                  for r in rows) or "(nobody away)")
