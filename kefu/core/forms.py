"""The form a person fills in at a human step, generated per case and step from the config.

A step's typed input (``HumanStep.input``) is what the CLI and the record share. The dashboard's
form is that input shaped for the person in front of it: ``by`` offers only the staff allowed at
this step of this case, a field with a fixed set of answers is a picker showing their labels
(维修部, 满意, the options of the plan being approved), and a password field asks for the
person's PIN (:mod:`kefu.core.identity`): Prefect's server has no login of its own. What the
schema can check, the form checks before it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model

from models.case import CaseState

if TYPE_CHECKING:
    from kefu.core.process import HumanStep
    from kefu.core.rules import Rules

PIN = "pin"
# An optional picker's "nothing" (a complaint not upheld names no department): one more choice,
# not a type switch the person must find.
NONE_LABEL = "— 无 none"
# What the CLI puts in a form's PIN field when it wakes a run: the CLI verified the caller's token
# and recorded the decision before, so the run reads the decision from the record, not this.
RECORDED_BY_CLI = "(recorded by the CLI)"


@dataclass(frozen=True)
class Form:
    """A step's form for one case: the model the dashboard renders, and the labels its pickers show."""

    model: type[BaseModel]
    choices: dict[str, dict[Any, str]]

    def values(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The step's input from the form's answer: each picked label back to its value, the PIN left out."""
        data = {k: v for k, v in answer.items() if k != PIN}
        for name, labels in self.choices.items():
            back = {label: value for value, label in labels.items()}
            if data.get(name) in back:
                data[name] = back[data[name]]
        return data

    def answer(self, values: dict[str, Any]) -> dict[str, Any]:
        """The form filled in with an input the CLI already recorded (labels for values, the PIN
        field marked): what waking a run that waits on this form sends."""
        data = {k: v for k, v in values.items() if k in self.model.model_fields}
        for name, labels in self.choices.items():
            if name in data and data[name] in labels:
                data[name] = labels[data[name]]
        data[PIN] = RECORDED_BY_CLI
        return data


def form_for(rules: "Rules", state: CaseState, step: "HumanStep") -> Form:
    """The form of ``step`` for this case, with the pickers its process and the roster give."""
    choices = dict(step.choices(rules, state)) if step.choices else {}
    deciders = step.deciders(rules, state)
    if deciders is None:
        deciders = list(rules.department.staff)
    if deciders:
        choices["by"] = {s.id: f"{s.id} {s.name}" for s in deciders}
    # The input's fields without its validators: a rule the schema cannot express (an upheld
    # complaint names a department) is checked when the answer is recorded, and a refusal shows
    # on the re-opened form; a form that failed to load would fail the case's run instead.
    fields: dict[str, Any] = {name: (f.annotation, f) for name, f in step.input.model_fields.items()}
    for name, labels in choices.items():
        base = step.input.model_fields[name]
        if not base.is_required() and base.default is None:
            labels = choices[name] = {None: NONE_LABEL, **labels}
        picker: Any = Literal[tuple(labels.values())]  # type: ignore[valid-type]
        default = labels.get(base.default, base.default) if not base.is_required() else ...
        fields[name] = (picker, Field(default, description=base.description))
    fields[PIN] = (SecretStr, Field(description="你的 PIN（或个人令牌）/ Your PIN (or personal token): "
                                                "kefu records the decision for the person it belongs to",
                                    min_length=1))
    model = create_model(step.input.__name__.removesuffix("Input") + "Form",
                         __config__=ConfigDict(extra="forbid", str_strip_whitespace=True), **fields)
    return Form(model, choices)
