"""One reading of yes/no flags (pde.sources.is_true) for -a arguments, -s settings and the environment."""

from __future__ import annotations

import pytest

from pde.sources import is_true
from scrapers.addons import impersonate_target


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("true", True), ("YES", True), (" on ", True), (True, True), (1, True),
    ("0", False), ("false", False), ("No", False), ("off", False), ("", False), (False, False), (0, False),
])
def test_yes_and_no_words(value, expected):
    assert is_true(value) is expected


def test_none_is_the_default_and_anything_else_is_refused_in_words():
    assert is_true(None) is False and is_true(None, default=True) is True
    with pytest.raises(ValueError, match="'maybe' is not a yes/no value: use 1, true, yes or on"):
        is_true("maybe")


def test_impersonation_is_off_on_or_a_target():
    assert [impersonate_target(v) for v in (None, "0", "no", "1", "yes", "chrome131")] == [
        None, None, None, "chrome", "chrome", "chrome131"]
