"""The order remark 备注 in the seed's fixed format, parsed and checked.

Seed 000 第四篇 备注: "格式为：姓名，尺寸（宽*高，默认单位为米）图案有无修改或定制，发货时间，配送情况，
特殊备注" — ``姓名,宽*高,图案正常|修改|定制,M月D日发货,自提|送货到楼下|包送货安装。特殊备注``.
Every refusal names the field, what is wrong, and how to write it.
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, ConfigDict

from kefu.core.refusals import InputRefused
from kefu.processes.order.rules import OrderRules

FIELDS = ("name", "size", "pattern", "ship_date", "delivery_mode")
EXAMPLE = "刘贺,3米*2.5米,图案正常,12月19日发货,自提。送胶。"
# One side of a size: a number with an optional unit (metres), or nothing at all (a missing number).
_SIDE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)?\s*(?:米|m|M)?\s*$")
_SHIP = re.compile(r"^\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?\s*发货\s*$")


class OrderRemark(BaseModel):
    """A remark that passed every check."""

    model_config = ConfigDict(frozen=True)

    text: str
    name: str
    width_m: float
    height_m: float
    pattern: str
    ship_date: date
    delivery_mode: str
    notes: str


def parse_remark(text: str, rules: OrderRules, today: date) -> OrderRemark:
    """Parse a remark written ``today`` (the department's local date); raises :class:`InputRefused`."""
    text = text.strip()
    head, _, notes = text.partition("。")
    parts = [p.strip() for p in re.split(r"[,，]", head)]
    if len(parts) < len(FIELDS):
        missing = FIELDS[len(parts)]
        raise InputRefused(f"remark.{missing}", f"the remark has {len(parts)} of its {len(FIELDS)} fields; "
                           f"{missing} and what follows are missing",
                           f"write 姓名,宽*高,图案,M月D日发货,配送方式。特殊备注 — e.g. {EXAMPLE}")
    if len(parts) > len(FIELDS):
        raise InputRefused("remark.notes", f"{len(parts)} comma-separated fields before the first 。, "
                           f"expected {len(FIELDS)}", "put the special notes after a 。, e.g. …,自提。送胶，好评返现。")
    name, size, pattern, ship, mode = parts
    if not name:
        raise InputRefused("remark.name", "the buyer's name is empty", "start the remark with the buyer's real name")
    width, height = _size(size, rules)
    return OrderRemark(text=text, name=name, width_m=width, height_m=height, pattern=_pattern(pattern, rules),
                       ship_date=_ship_date(ship, rules, today), delivery_mode=_delivery_mode(mode, rules),
                       notes=notes.strip().rstrip("。").strip())


def _size(size: str, rules: OrderRules) -> tuple[float, float]:
    sides = re.split(r"[*×xX＊]", size)
    matches = [_SIDE.match(side) for side in sides]
    if len(sides) != 2 or None in matches:
        raise InputRefused("remark.size", f"{size!r} is not a size", "write width*height in metres, e.g. 3米*2.5米")
    width, height = (m.group(1) for m in matches)  # type: ignore[union-attr]
    for field, value in (("width", width), ("height", height)):
        if value is None:
            raise InputRefused(f"remark.size.{field}", f"the {field} is missing in {size!r}",
                               "write both numbers, width*height in metres, e.g. 3米*2.5米")
    limits = rules.size_limits
    for field, value, limit in (("width", float(width), limits.max_width_m),
                                ("height", float(height), limits.max_height_m)):
        if value <= 0:
            raise InputRefused(f"remark.size.{field}", f"a {field} of {value:g} m is impossible",
                               f"give the {field} in metres, more than 0")
        if value > limit:
            raise InputRefused(f"remark.size.{field}", f"a {field} of {value:g} m is beyond the {limit:g} m limit "
                               "(order.yaml size_limits)", f"check the {field}: sizes are in metres, e.g. 3米*2.5米")
    return float(width), float(height)


def _pattern(word: str, rules: OrderRules) -> str:
    pattern = rules.pattern(word)
    if pattern is None:
        words = "、".join(w for words in rules.patterns.values() for w in words[:1])
        raise InputRefused("remark.pattern", f"{word!r} is not a pattern", f"write one of {words}")
    return pattern


def _ship_date(ship: str, rules: OrderRules, today: date) -> date:
    match = _SHIP.match(ship)
    if match is None:
        raise InputRefused("remark.ship_date", f"{ship!r} is not a ship date", "write it as M月D日发货, e.g. 12月19日发货")
    month, day = (int(g) for g in match.groups())
    try:
        when = date(today.year, month, day)
    except ValueError:
        raise InputRefused("remark.ship_date", f"{month}月{day}日 is not a date", "write a real date, e.g. 12月19日发货")
    if when < today:
        if (today - when).days > rules.ship_date_past_window_days:
            try:
                return date(today.year + 1, month, day)
            except ValueError:  # 2月29日 read as next year's
                raise InputRefused("remark.ship_date", f"{month}月{day}日 is not a date next year",
                                   "write a real date") from None
        raise InputRefused("remark.ship_date", f"{month}月{day}日 is in the past (today is {today:%m-%d})",
                           "write the ship date agreed with the buyer, today or later")
    return when


def _delivery_mode(word: str, rules: OrderRules) -> str:
    mode = rules.delivery_mode(word)
    if mode is None:
        raise InputRefused("remark.delivery_mode", f"{word!r} is not a delivery mode",
                           f"write one of {delivery_mode_words(rules)} (seed: 不可模棱两可)")
    return mode


def delivery_mode_words(rules: OrderRules) -> str:
    return " / ".join(f"{words[0]} ({mode})" for mode, words in rules.delivery_modes.items())
