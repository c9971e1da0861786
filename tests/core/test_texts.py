"""kefu.core.texts: what people read says an allowed time in their language, never a config key."""

from __future__ import annotations

import pytest

from kefu.core.policies import CUSTOMER_CHOICE
from kefu.core.texts import allowance_zh


@pytest.mark.parametrize(("allowed", "said"), [
    ("24 working hours", "24 个工作小时"),
    ("2 hours", "2 小时"),
    ("3 days", "3 天"),
    ("30 minutes", "30 分钟"),
    ("until 2026-12-05 18:00", "至 2026-12-05 18:00"),
    (CUSTOMER_CHOICE, "客户约定的时间"),
])
def test_an_allowed_time_is_said_in_chinese_in_the_chinese_part(allowed, said):
    assert allowance_zh(allowed) == said
