"""A config folder broken on purpose: the load must refuse it naming the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu.core.config import ConfigError
from kefu.processes import load_rules


def broken(config_copy: Path, file: str, old: str, new: str) -> ConfigError:
    """``file`` of the copied config with ``old`` replaced by ``new``: the error its load raises."""
    path = config_copy / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_rules(config_copy)
    return refused.value
