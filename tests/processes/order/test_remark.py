"""The order remark in the seed's fixed format (seed 000 第四篇 备注; PROCESSES.md P3)."""

from __future__ import annotations

from datetime import date

import pytest

from kefu.core.refusals import InputRefused
from kefu.processes.order.remark import parse_remark

TODAY = date(2026, 11, 23)


def refusal(rules, text: str) -> InputRefused:
    with pytest.raises(InputRefused) as caught:
        parse_remark(text, rules.order, TODAY)
    return caught.value


def test_the_seeds_own_example_is_refused_because_it_has_no_height(rules):
    """Seed 000 第四篇: the example 刘贺,3米*米,… gives a width and no height; kefu says which number."""
    refused = refusal(rules, "刘贺,3米*米,图案正常,12月19发货,自提。送胶。")
    assert refused.field == "remark.size.height"
    assert "height is missing" in refused.problem and "'3米*米'" in refused.problem
    assert "3米*2.5米" in refused.fix


def test_a_good_remark_gives_every_field_typed(rules):
    """Seed 000 第四篇: 姓名，尺寸（宽*高，米），图案，发货时间，配送情况，特殊备注."""
    remark = parse_remark("刘贺,3米*2.5米,图案正常,12月19发货,自提。送胶。好评返现。", rules.order, TODAY)
    assert (remark.name, remark.width_m, remark.height_m) == ("刘贺", 3.0, 2.5)
    assert (remark.pattern, remark.ship_date, remark.delivery_mode) == ("normal", date(2026, 12, 19), "self_pickup")
    assert remark.notes == "送胶。好评返现"


def test_full_width_commas_units_and_custom_patterns_are_read(rules):
    remark = parse_remark("王强，4.2*2.8，图案定制，12月1日发货，包送货安装", rules.order, TODAY)
    assert (remark.width_m, remark.height_m, remark.pattern) == (4.2, 2.8, "custom")
    assert (remark.delivery_mode, remark.notes) == ("delivery_installation", "")


@pytest.mark.parametrize("text, field", [
    ("刘贺,3米*2米", "remark.pattern"),
    ("刘贺,3米*2米,图案正常,12月19日发货", "remark.delivery_mode"),
    (",3米*2米,图案正常,12月19日发货,自提", "remark.name"),
    ("刘贺,三米*2米,图案正常,12月19日发货,自提", "remark.size"),
    ("刘贺,3米*2米,花的,12月19日发货,自提", "remark.pattern"),
    ("刘贺,3米*2米,图案正常,下周发货,自提", "remark.ship_date"),
    ("刘贺,3米*2米,图案正常,2月30日发货,自提", "remark.ship_date"),
])
def test_a_missing_or_unreadable_field_is_named(rules, text, field):
    assert refusal(rules, text).field == field


@pytest.mark.parametrize("size, field", [("0*2", "remark.size.width"), ("3*0", "remark.size.height"),
                                         ("-3*2", "remark.size.width"), ("300*2", "remark.size.width"),
                                         ("3*25", "remark.size.height")])
def test_impossible_sizes_are_refused(rules, size, field):
    """Seed 000 第四篇 订单整理: a wrong size is a severe error; limits from order.yaml size_limits."""
    refused = refusal(rules, f"刘贺,{size},图案正常,12月19日发货,自提")
    assert refused.field == field
    assert "impossible" in refused.problem or "limit" in refused.problem


def test_a_ship_date_in_the_past_is_refused(rules):
    refused = refusal(rules, "刘贺,3*2,图案正常,11月20日发货,自提")
    assert refused.field == "remark.ship_date" and "in the past" in refused.problem


def test_an_early_month_late_in_the_year_means_next_year(rules):
    """order.yaml ship_date_past_window_days: 1月5日 written in November is next January."""
    assert parse_remark("刘贺,3*2,图案正常,1月5日发货,自提", rules.order, TODAY).ship_date == date(2027, 1, 5)


@pytest.mark.parametrize("word, mode", [("自提", "self_pickup"), ("买家自提", "self_pickup"),
                                        ("送货到楼下", "to_building"), ("包送货安装", "delivery_installation"),
                                        ("to_building", "to_building")])
def test_delivery_modes_in_chinese_or_by_name(rules, word, mode):
    """Seed 000 第四篇: 买家自提、送货到楼下、包送货安装, 不可模棱两可."""
    assert parse_remark(f"刘贺,3*2,图案正常,12月19日发货,{word}", rules.order, TODAY).delivery_mode == mode


def test_an_ambiguous_delivery_mode_is_refused_with_the_three_choices(rules):
    refused = refusal(rules, "刘贺,3*2,图案正常,12月19日发货,送货")
    assert refused.field == "remark.delivery_mode"
    assert "自提" in refused.fix and "送货到楼下" in refused.fix and "包送货安装" in refused.fix
