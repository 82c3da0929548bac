"""Hours as people write or say them (bot/hours.py), apart from any chat."""
from __future__ import annotations

import pytest

from bot.hours import find_hours, parse_hours


@pytest.mark.parametrize("text, hours, rest", [
    ("2小时", 2, ""),
    ("两个半小时", 2.5, ""),
    ("已送到 1.5小时", 1.5, "已送到"),
    ("已送到 两小时", 2, "已送到"),
    ("半小时", 0.5, ""),
    ("半个小时", 0.5, ""),
    ("一个半钟头", 1.5, ""),
    ("一点五个小时", 1.5, ""),
    ("1小时20分钟", 4 / 3, ""),
    ("90分钟", 1.5, ""),
    ("三个小时 老人很开心", 3, "老人很开心"),
    ("等了一小时才送到 2小时", 2, "等了一小时才送到"),
    ("十二小时", 12, ""),
    ("已送到", None, "已送到"),
    ("", None, ""),
])
def test_hours_in_free_text(text, hours, rest):
    found, left = find_hours(text)
    assert (found if found is None else pytest.approx(found)) == hours
    assert left == rest


@pytest.mark.parametrize("text, hours", [
    ("2", 2), ("2.5", 2.5), ("两", 2), ("一点五", 1.5), ("两个半小时", 2.5), ("3h", 3),
    ("很久", None), ("2小时x", None), ("abc", None), ("", None),
])
def test_an_amount_on_its_own(text, hours):
    assert parse_hours(text) == hours
