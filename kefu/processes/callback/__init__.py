"""P2 the callback guarantee 回访 (PROCESSES.md P2; seed 001 "一个避免，三个必保", 回访流程; seed 002 §3)."""

from __future__ import annotations

from kefu.core.process import Deployment, HumanStep, Process, Section
from kefu.processes.callback import decisions, replay
from kefu.processes.callback.rules import (
    CALLBACK_STEPS,
    CallbackRules,
    callback_problems,
    selection_schedule,
)
from models.callback import CALL, PROCESS, CallAttemptInput

CALLBACK = Process(
    name=PROCESS,
    label="P2 callback guarantee 回访",
    tag="p2",
    config=Section("callback", "callback.yaml", CallbackRules, callback_problems),
    deadline_steps=CALLBACK_STEPS,
    human_steps=(HumanStep(CALL, CallAttemptInput, decisions.record_attempt, "kefu callback record",
                           choices=decisions.choices),),
    deployments=(
        Deployment("callback", "flows/callback.py:callback",
                   "P2 callback 回访 — one run per callback, never in the customer's quiet hours."),
        # Key customers and occasions are picked once a day at callback.yaml selection_at in the
        # department's zone (each pick is idempotent per period and occasion).
        Deployment("callback-selection", "flows/callback.py:callback_selection",
                   "P2 callback selection — key customers (每两个月一次) and occasions from config/callback.yaml.",
                   schedule=selection_schedule),
    ),
    field_fixes=decisions.FIELD_FIXES,
    form_description=lambda rules, store, case, step, round_: decisions.form_description(rules, case, round_),
    replay_checks=replay.CHECKS,
)
