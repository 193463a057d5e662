"""The record contract: validation by annotations (fast generated path and detailed path agree)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest

from pde.records import Record, validate


@dataclass(kw_only=True)
class Sample(Record):
    table = "x.samples"
    key = ("sample_id",)
    sample_id: str
    amount: Decimal | None = None
    ratio: float | None = None
    count: int | None = None
    day: dt.date | None = None
    flag: bool | None = None
    tags: list | None = None


@pytest.mark.parametrize("fields, problem", [
    ({}, None),
    ({"amount": Decimal("1.10"), "ratio": 3, "count": 2, "day": dt.date(2026, 1, 2), "flag": False, "tags": []}, None),
    ({"amount": 5}, None),                                   # an int is a fine amount
    ({"sample_id": ""}, "sample_id is required"),
    ({"sample_id": None}, "sample_id is required"),
    ({"amount": 1.1}, "amount should be Decimal/int, got float"),  # money is never float
    ({"count": True}, "count should be int, got bool"),
    ({"count": "3"}, "count should be int, got str"),
    ({"ratio": float("nan")}, "ratio is NaN"),
    ({"day": "2026-01-02"}, "day should be date, got str"),
])
def test_validation(fields, problem):
    item = Sample(**{"sample_id": "s1", **fields})
    got = validate(item)
    if problem is None:
        assert got is None
    else:
        assert got is not None and problem in got


def test_empty_strings_become_none_and_nul_bytes_are_removed():
    @dataclass(kw_only=True)
    class Named(Record):
        table = "x.named"
        key = ("k",)
        k: str
        name: str | None = None

    item = Named(k="a", name="")
    assert validate(item) is None and item.name is None
    item = Named(k="a", name="bad\x00byte")
    assert validate(item) is None and item.name == "badbyte"


def test_key_fields_must_be_required():
    @dataclass(kw_only=True)
    class Bad(Record):
        table = "x.bad"
        key = ("k",)
        k: str | None = None

    with pytest.raises(TypeError, match="key fields must be required"):
        Bad.columns()
