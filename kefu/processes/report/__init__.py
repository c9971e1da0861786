"""P8 reports and supervision 报表与督导 (PROCESSES.md P8; seed 002 §4 (7) 总结评价, 第五條 (4)): the
reports a person signs off or writes up, one case per period (and agent)."""

from __future__ import annotations

from kefu.core.process import Deployment, HumanStep, Process, Section
from kefu.processes.report import decisions, replay
from kefu.processes.report.rules import (
    STEPS,
    ReportRules,
    daily_schedule,
    monthly_schedule,
    report_problems,
    statistics_schedule,
    work_log_schedule,
)
from models.report import COMPILE, PROCESS, SIGN_OFF, WRITE_UP, SignOffInput, WriteUpInput

REPORT = Process(
    name=PROCESS,
    label="P8 reports 报表与督导",
    tag="p8",
    config=Section("report", "report.yaml", ReportRules, report_problems),
    deadline_steps=STEPS,
    human_steps=(HumanStep(SIGN_OFF, SignOffInput, decisions.record_sign_off, decisions.COMMANDS[SIGN_OFF],
                           may_decide=decisions.may_sign_off),
                 HumanStep(WRITE_UP, WriteUpInput, decisions.record_write_up, decisions.COMMANDS[WRITE_UP],
                           may_decide=decisions.may_write_up)),
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
                   schedule=daily_schedule("morning")),
        # At the end of the day, the complaints and suggestions for the store manager (report.yaml
        # daily_digest) and the order ledger (order_ledger).
        Deployment("daily-digest", "flows/report.py:daily_digest",
                   "P8 每日投诉意见汇总 daily digest — the day's complaints, suggestions, callbacks and what is left over.",
                   schedule=daily_schedule("daily_digest")),
        Deployment("order-ledger", "flows/report.py:order_ledger",
                   "P8 每日台账明细 order ledger — every order worked on today, the totals and each agent's part.",
                   schedule=daily_schedule("order_ledger")),
        # The month before's satisfaction analysis for the general manager (report.yaml satisfaction).
        Deployment("satisfaction-analysis", "flows/report.py:satisfaction_analysis",
                   "P8 满意度调查分析报告 satisfaction analysis — last month's callbacks, by reason, category and "
                   "caller, and the quality problems.",
                   schedule=monthly_schedule("satisfaction")),
        # The month before's feedback to the manager and the departments concerned (report.yaml feedback).
        Deployment("monthly-feedback", "flows/report.py:monthly_feedback",
                   "P8 每月信息反馈 monthly feedback — last month's upheld complaints by department, suggestions and "
                   "opinions.",
                   schedule=monthly_schedule("feedback")),
        # Each agent's work log of the week and of the month before (report.yaml work_log), for the
        # agent to write up and the supervisors to read.
        Deployment("weekly-work-logs", "flows/report.py:weekly_work_logs",
                   "P8 工作日志·周报 weekly work logs — each agent's week from the record, for them to write up.",
                   schedule=work_log_schedule("week")),
        Deployment("monthly-work-logs", "flows/report.py:monthly_work_logs",
                   "P8 工作日志·月报 monthly work logs — each agent's month from the record, for them to write up.",
                   schedule=work_log_schedule("month")),
    ),
    field_fixes=decisions.FIELD_FIXES,
    commands=decisions.COMMANDS,
    form_description=decisions.form_description,
    replay_checks=replay.CHECKS,
)
