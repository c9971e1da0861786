"""What a replay check says (``kefu.audit.replay`` runs every process's checks): a process's
checks live with the process and speak this vocabulary, so the auditor's replay needs no
process by name and no process needs the auditor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kefu.core.rules import Rules


@dataclass
class Divergence:
    seq: int
    event: str
    what: str
    expected: Any
    recorded: Any

    def text(self) -> str:
        return f"event {self.seq} ({self.event}): {self.what} — expected {self.expected!r}, recorded {self.recorded!r}"


@dataclass
class Context:
    """What a check may use: the rules in force for the event, and where to note what it accepted."""

    rules: "Rules"
    notes: list[str]
