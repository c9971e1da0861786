"""An anchor outside the database: the seals of all closed cases in a file, with one digest over
them, to be signed, printed or sent to the auditor at the time. Checking a later database against
the file finds a case rewritten consistently (chain and seal recomputed), which the chain alone
cannot (docs/audit.md)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kefu.core import clock
from models.records import Case


def seals(engine: Engine) -> dict[str, str]:
    """Each closed case's seal, by case id."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(Case.id, Case.seal).where(Case.status == "closed").order_by(Case.id))
        return {case_id: seal or "" for case_id, seal in rows}


def digest_of(anchored: dict[str, str]) -> str:
    return hashlib.sha256("".join(f"{case_id} {seal}\n" for case_id, seal in sorted(anchored.items())).encode()).hexdigest()


def write(engine: Engine, path: Path) -> dict[str, Any]:
    anchored = seals(engine)
    document = {"anchored_at": clock.now().isoformat(), "cases": len(anchored), "digest": digest_of(anchored),
                "seals": anchored}
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return {k: document[k] for k in ("anchored_at", "cases", "digest")}


def written(path: Path) -> dict[str, Any]:
    """The anchor file as written (anchored_at, cases, digest, seals). Raises ValueError if the
    file does not match its own digest."""
    document = json.loads(path.read_text(encoding="utf-8"))
    missing = {"anchored_at", "digest", "seals"} - set(document)
    if missing:
        raise ValueError(f"the anchor file has no {', '.join(sorted(missing))}")
    if digest_of(document["seals"]) != document["digest"]:
        raise ValueError("the anchor file's seals do not match its digest: the file was changed")
    return document


def check(engine: Engine, path: Path) -> list[dict[str, str]]:
    """Cases whose seal differs from the anchor's, or which are gone; [] if the record agrees.
    Raises ValueError if the anchor file itself does not match its digest."""
    return findings(engine, written(path))


def findings(engine: Engine, document: dict[str, Any]) -> list[dict[str, str]]:
    """What :func:`check` says of an anchor already read with :func:`written`."""
    now = seals(engine)
    found = []
    for case_id, seal in document["seals"].items():
        if case_id not in now:
            found.append({"case_id": case_id, "problem": "anchored as closed, now missing or reopened"})
        elif now[case_id] != seal:
            found.append({"case_id": case_id, "problem": "its seal changed since the anchor: the record was rewritten"})
    return found
