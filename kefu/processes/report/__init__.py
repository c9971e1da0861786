"""P8 reports and supervision 报表与督导 (PROCESSES.md P8; seed 002 §4 (7) 总结评价): the reports a
person signs off, one case per period."""

from __future__ import annotations

from kefu.core.process import Deployment, HumanStep, Process, Section
from kefu.processes.report import decisions, replay
from kefu.processes.report.rules import STEPS, ReportRules, morning_schedule, report_problems, statistics_schedule
from models.report import COMPILE, PROCESS, SIGN_OFF, SignOffInput

REPORT = Process(
    name=PROCESS,
    label="P8 reports 报表与督导",
    tag="p8",
    config=Section("report", "report.yaml", ReportRules, report_problems),
    deadline_steps=STEPS,
    human_steps=(HumanStep(SIGN_OFF, SignOffInput, decisions.record_sign_off, decisions.COMMANDS[SIGN_OFF],
                           may_decide=decisions.may_sign_off),),
    automatic_steps=(COMPILE,),
    deployments=(
        Deployment("report", "flows/report.py:report",
                   "P8 report 报表 — one run per report: compiled from the record, mailed, signed off by the supervisor."),
        # 《顾客投诉分类统计表》 for the period before, at report.yaml complaint_statistics' time in the
        # department's zone (one report case per period, however often it runs).
        Deployment("complaint-statistics", "flows/report.py:complaint_statistics",
                   "P8 《顾客投诉分类统计表》 — the period's complaint statistics, for the supervisor to sign off.",
                   schedule=statistics_schedule),
        # The supervisor's morning screen, every day before the 8:00 stand-up (report.yaml morning).
        Deployment("morning-screen", "flows/report.py:morning_screen",
                   "P8 晨会议程 morning screen — yesterday, what is open, missed and due today, orders at risk, who is away.",
                   schedule=morning_schedule),
    ),
    field_fixes=decisions.FIELD_FIXES,
    commands=decisions.COMMANDS,
    form_description=decisions.form_description,
    replay_checks=replay.CHECKS,
)
