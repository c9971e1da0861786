"""《顾客投诉分类统计表》 as people read it: the Markdown report (the dashboard's artifact, the ``.md``
file, the sign-off form), the chart (PNG), the workbook (XLSX, the chart inside) and the e-mail
(HTML with the chart inline, the workbook attached). zh-CN first, with the labels of config: the
Chinese part never shows kefu's own names for a category, a channel or a step."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from kefu.core.rules import Rules
from kefu.core.texts import render_file
from kefu.processes.report.statistics import ComplaintStatistics

log = logging.getLogger(__name__)

# Fonts that carry simplified Chinese, by the names matplotlib knows them (Debian's
# fonts-wqy-microhei and fonts-noto-cjk, macOS's and Windows' own).
CJK_FONTS = ("Noto Sans CJK SC", "WenQuanYi Micro Hei", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
             "SimHei")


@dataclass(frozen=True)
class Row:
    key: str
    zh: str
    en: str
    count: int
    share: str
    previous: int | None = None


def _rows(stats: ComplaintStatistics, counts: dict[str, int], names: dict[str, tuple[str, str]], of: int,
          previous: dict[str, int] | None = None) -> list[Row]:
    return [Row(key, *names.get(key, (key, key)), count, stats.share(count, of),
                None if previous is None else previous.get(key, 0))
            for key, count in counts.items()]


def tables(rules: Rules, stats: ComplaintStatistics) -> list[dict[str, Any]]:
    """The report's tables: a title (zh, en) and rows (label zh, label en, count, share)."""
    complaint = rules.complaint
    kinds = {k: (rules.label("kinds", k), k) for k in complaint.kinds}
    severities = {s: (rules.label("severities", s), s) for s in complaint.severities}
    categories = {c.id: (c.name, c.name_en) for c in complaint.categories}
    channels = {c: (complaint.channel_labels.get(c, c), c) for c in complaint.channels}
    departments = {d.id: (d.name, d.name_en) for d in rules.department.departments}
    outcomes = {o: tuple(label.split(" ", 1)) if " " in label else (label, o)
                for o, label in rules.callback.labels.outcomes.items()}
    previous_categories = stats.previous.get("by_category", {})
    categories_shown = {**{c: 0 for c in previous_categories}, **stats.by_category}
    shown = [
        {"zh": "按类型", "en": "By kind", "rows": _rows(stats, stats.by_kind, kinds, stats.total)},
        {"zh": "按投诉类别", "en": "By category", "previous": True,
         "rows": _rows(stats, categories_shown, categories, stats.complaints, previous_categories)},
        {"zh": "按严重度", "en": "By severity", "rows": _rows(stats, stats.by_severity, severities, stats.complaints)},
        {"zh": "按渠道", "en": "By channel", "rows": _rows(stats, stats.by_channel, channels, stats.complaints)},
        {"zh": "按责任部门（成立的投诉）", "en": "By responsible department (upheld)",
         "rows": _rows(stats, stats.by_department, departments, stats.upheld)},
        {"zh": "回访满意度", "en": "Callback satisfaction",
         "rows": _rows(stats, stats.satisfaction, outcomes, sum(stats.satisfaction.values()))},
    ]
    return [{"previous": False, **table} for table in shown]


def steps(rules: Rules, stats: ComplaintStatistics) -> list[dict[str, Any]]:
    return [{"zh": rules.label("steps", step), "en": step, **counts,
             "late_share": stats.share(counts["late"], counts["on_time"] + counts["late"])}
            for step, counts in stats.steps.items()]


def markdown(rules: Rules, stats: ComplaintStatistics, sign_off: dict[str, Any] | None = None) -> str:
    """The report as Markdown (``complaint_statistics.templates.markdown``)."""
    return render_file(rules, rules.report.complaint_statistics.templates.markdown, s=stats, tables=tables(rules, stats),
                       steps=steps(rules, stats), sign_off=sign_off, categories=rules.complaint.category_labels())


@lru_cache(maxsize=1)
def _cjk_font() -> str | None:
    from matplotlib import font_manager

    known = {font.name for font in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in known), None)
    if found is None:
        log.warning("no CJK font (e.g. apt-get install fonts-wqy-microhei): the charts label in English only")
    return found


def plotted(draw: Callable[[Any, str | None], None], size: tuple[float, float]) -> bytes:
    """A PNG of the figure ``draw(figure, font)`` fills: in Chinese and English with a CJK font on
    the machine (``font`` its name), in English without one (``font`` None)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    font = _cjk_font()
    with plt.rc_context({"font.sans-serif": [font, "DejaVu Sans"] if font else ["DejaVu Sans"],
                         "axes.unicode_minus": False}):
        figure = plt.figure(figsize=size, dpi=110)
        draw(figure, font)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        plt.close(figure)
    return buffer.getvalue()


def chart_png(rules: Rules, stats: ComplaintStatistics) -> bytes:
    """Complaints by category, this period beside the one before (a PNG)."""
    font = _cjk_font()
    names = {c.id: (f"{c.name} {c.name_en}" if font else c.name_en) for c in rules.complaint.categories}
    keys = [c.id for c in rules.complaint.categories]
    keys += [k for k in (*stats.by_category, *stats.previous.get("by_category", {})) if k not in keys]
    now = [stats.by_category.get(k, 0) for k in keys]
    before = [stats.previous.get("by_category", {}).get(k, 0) for k in keys]

    def draw(figure: Any, font: str | None) -> None:
        axes = figure.subplots()
        positions = range(len(keys))
        axes.barh([p + 0.2 for p in positions], before, height=0.4, color="#b0bec5",
                  label=(f"上期 previous ({stats.previous.get('from')} – {stats.previous.get('to')})" if font
                         else f"previous ({stats.previous.get('from')} – {stats.previous.get('to')})"))
        axes.barh([p - 0.2 for p in positions], now, height=0.4, color="#1565c0",
                  label=(f"本期 this period ({stats.period.first} – {stats.period.last})" if font
                         else f"this period ({stats.period.first} – {stats.period.last})"))
        for p, value in zip(positions, now):
            axes.text(value, p - 0.2, f" {value}", va="center", fontsize=8)
        axes.set_yticks(list(positions), [names.get(k, k) for k in keys])
        axes.invert_yaxis()
        axes.set_xlabel("投诉数 complaints" if font else "complaints")
        axes.set_title("顾客投诉分类统计 Complaints by category" if font else "Complaints by category")
        axes.legend(loc="lower right", fontsize=8)
        axes.spines[["top", "right"]].set_visible(False)

    return plotted(draw, (8, 0.55 * len(keys) + 1.6))


def workbook(rules: Rules, stats: ComplaintStatistics, chart: bytes) -> bytes:
    """The report as an XLSX workbook: the statistics sheet (each table, then the steps) with the
    chart beside it."""
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "顾客投诉分类统计表"
    bold = Font(bold=True)
    sheet.append([f"{rules.department.department.name} 顾客投诉分类统计表 Complaint Classification Statistics",
                  f"{stats.period.first.isoformat()} – {stats.period.last.isoformat()}"])
    sheet["A1"].font = bold
    sheet.append(["合计 Contacts", stats.total])
    sheet.append(["投诉 Complaints", stats.complaints])
    sheet.append(["成立 Upheld", stats.upheld])
    sheet.append(["不成立 Not upheld", stats.not_upheld])
    sheet.append(["未判定 Not judged", stats.unjudged])
    sheet.append(["归档导入 Archived from files", stats.archived])
    sheet.append(["平均处理时长（小时）Mean handling hours", stats.mean_handling_hours if stats.closed else "-"])
    sheet.append(["最长处理时长（小时）Worst handling hours", stats.worst_handling_hours if stats.closed else "-"])
    sheet.append(["重复投诉 Repeat customers", stats.repeat_customers])
    sheet.append(["跟进投诉 Follow-ups", stats.follow_ups])
    if stats.kpis:
        sheet.append(["订单 Orders", stats.kpis["orders"]])
        sheet.append(["咨询 Inquiries", stats.kpis["inquiries"]])
        sheet.append(["转化率 Conversion (%)", "-" if stats.kpis["conversion"] is None else stats.kpis["conversion"]])
        sheet.append(["投诉率 Complaint rate (%)",
                      "-" if stats.kpis["complaint_rate"] is None else stats.kpis["complaint_rate"]])
    for table in tables(rules, stats):
        sheet.append([])
        header = [f"{table['zh']} {table['en']}", "数量 Count", "占比 Share"] + (["上期 Previous"] if table.get("previous") else [])
        sheet.append(header)
        sheet.cell(sheet.max_row, 1).font = bold
        for row in table["rows"]:
            sheet.append([f"{row.zh} {row.en}", row.count, row.share] + ([row.previous] if table.get("previous") else []))
    sheet.append([])
    sheet.append(["环节 Step", "按时 On time", "超时 Late", "进行中 Open", "超时率 Late share"])
    sheet.cell(sheet.max_row, 1).font = bold
    for step in steps(rules, stats):
        sheet.append([f"{step['zh']} {step['en']}", step["on_time"], step["late"], step["open"], step["late_share"]])
    sheet.append([])
    sheet.append(["方案轮次 Plan rounds", "投诉数 Complaints"])
    for rounds, count in stats.rounds.items():
        sheet.append([rounds, count])
    sheet.append([])
    sheet.append(["改进措施 Improvement measures", "案件 Case"])
    for case_id, measure in stats.improvements:
        sheet.append([measure, case_id])
    sheet.column_dimensions["A"].width = 42
    image = Image(io.BytesIO(chart))
    sheet.add_image(image, "G2")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def stem(stats: ComplaintStatistics) -> str:
    return f"complaint-statistics-{stats.period.first.isoformat()}-{stats.period.last.isoformat()}"


def write(rules: Rules, stats: ComplaintStatistics, out: Path) -> dict[str, Path]:
    """The report's files in ``out``: ``complaint-statistics-<from>-<to>.{xlsx,md,png}``."""
    out.mkdir(parents=True, exist_ok=True)
    chart = chart_png(rules, stats)
    files = {"xlsx": out / f"{stem(stats)}.xlsx", "markdown": out / f"{stem(stats)}.md", "chart": out / f"{stem(stats)}.png"}
    files["chart"].write_bytes(chart)
    files["xlsx"].write_bytes(workbook(rules, stats, chart))
    files["markdown"].write_text(markdown(rules, stats) + "\n", encoding="utf-8")
    return files
