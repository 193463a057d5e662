"""The contract between a spider and the database: typed records that name their table.

A source declares each kind of row it produces as a dataclass::

    @dataclass(kw_only=True)
    class Listing(Record):
        table = "housing.listings"
        key = ("zpid",)
        history = True          # keep previous versions in housing.listings_history
        volatile = ("days_on_market",)  # refreshed, but not a "change"
        zpid: str               # required: no default, not Optional
        price: int | None = None

and yields instances from its spider. The generic pipeline validates them
against these annotations and upserts them; no pipeline code per source.
``None`` means "the source did not say": it never overwrites a known value.

A row the spider could not turn into a record is yielded as ``Rejected`` and
lands in ``platform.quarantine`` with its reason, never dropped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
import types
import typing
from decimal import Decimal
from typing import Any, ClassVar

JSON_TYPES = (dict, list)
SUPPORTED = (str, int, float, Decimal, bool, dt.date, dt.datetime, dict, list)


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    types: tuple[type, ...]  # accepted Python types
    required: bool
    json: bool


@dataclasses.dataclass(kw_only=True)
class Record:
    table: ClassVar[str]
    key: ClassVar[tuple[str, ...]]
    history: ClassVar[bool] = False
    #: fields written along with the row but not counted as a change (no history
    #: row, no updated_at bump), e.g. a listing's days_on_market ticking up daily
    volatile: ClassVar[tuple[str, ...]] = ()
    #: fields every record of this kind has when its page is read right (a listing's price, address
    #: and URL); missing on most records of a run, they mean the site changed its layout (run failed)
    layout_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def columns(cls) -> tuple[Column, ...]:
        cached = cls.__dict__.get("_pde_columns")
        if cached is None:
            cached = _columns(cls)
            cls._pde_columns = cached
        return cached

    @classmethod
    def record_name(cls) -> str:
        return f"{cls.__module__}.{cls.__qualname__}"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict (for quarantine and spool files)."""
        return {c.name: _jsonable(getattr(self, c.name, None)) for c in self.columns()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        """Inverse of to_json: restores dates, datetimes and decimals."""
        values = {}
        for c in cls.columns():
            v = data.get(c.name)
            if isinstance(v, str) and v and str not in c.types:
                if dt.datetime in c.types:
                    v = dt.datetime.fromisoformat(v)
                elif dt.date in c.types:
                    v = dt.date.fromisoformat(v)
                elif Decimal in c.types:
                    v = Decimal(v)
            values[c.name] = v
        return cls(**values)


@dataclasses.dataclass(kw_only=True)
class Rejected:
    """Something a spider found but could not turn into a valid record."""

    table: str
    reason: str
    raw: Any
    source_url: str | None = None


def _columns(cls: type[Record]) -> tuple[Column, ...]:
    hints = typing.get_type_hints(cls)
    cols = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        args = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)
        optional = type(None) in args
        base = tuple(typing.get_origin(a) or a for a in args if a is not type(None))
        if any(b is Any for b in base):
            base = JSON_TYPES + (str, int, float, bool)
        for b in base:
            if b not in SUPPORTED:
                raise TypeError(f"{cls.__name__}.{f.name}: unsupported type {b!r}")
        accepted = set(base)
        if float in accepted or Decimal in accepted:
            accepted.add(int)  # 3 is a fine price
        cols.append(Column(f.name, tuple(accepted), not optional, any(b in JSON_TYPES for b in base)))
    missing = [k for k in cls.key if k not in {c.name for c in cols}]
    if missing:
        raise TypeError(f"{cls.__name__}.key names fields it does not have: {missing}")
    nullable_keys = [c.name for c in cols if c.name in cls.key and not c.required]
    if nullable_keys:
        raise TypeError(f"{cls.__name__}: key fields must be required (not Optional): {nullable_keys}")
    return tuple(cols)


def _jsonable(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime, Decimal)):
        return v.isoformat() if not isinstance(v, Decimal) else str(v)
    return v


def _spec(cls: type[Record]):
    spec = cls.__dict__.get("_pde_spec")
    if spec is None:
        cols = cls.columns()
        names = [c.name for c in cols]
        getter = operator.attrgetter(*names) if len(names) > 1 else (lambda o, n=names[0]: (getattr(o, n),))
        spec = (getter, [(c.name, frozenset(c.types), c.types, c.required) for c in cols])
        cls._pde_spec = spec
    return spec


def _fast_check(cls: type[Record]):
    """A per-class function, generated once, that says True when every field is
    plainly valid (the common case); only other items take the detailed path."""
    check = cls.__dict__.get("_pde_fast_check")
    if check is not None:
        return check
    env: dict = {}
    lines = ["def check(item):"]
    for i, c in enumerate(cls.columns()):
        names = []
        for j, t in enumerate(c.types):
            env[f"T{i}_{j}"] = t
            names.append(f"T{i}_{j}")
        lines.append(f"    v = item.{c.name}")
        if c.required:
            lines.append("    if v is None: return False")
            pad = "    "
        else:
            lines.append("    if v is not None:")
            pad = "        "
        lines.append(f"{pad}t = type(v)")
        lines.append(f"{pad}if {' and '.join(f't is not {n}' for n in names)}: return False")
        if str in c.types:
            lines.append(f"{pad}if t is str and (not v or '\\x00' in v): return False")
        if float in c.types:
            lines.append(f"{pad}if t is float and v != v: return False")
    lines.append("    return True")
    exec("\n".join(lines), env)  # noqa: S102 - generated from the class's own annotations
    check = env["check"]
    cls._pde_fast_check = check
    return check


def validate(item: Record) -> str | None:
    """Return why the item is invalid, or None. Normalises '' to None in place.

    On the hot path of every crawl (and of the load benchmark): a generated
    per-class check passes plainly valid items; the loop below explains the rest.
    """
    if _fast_check(type(item))(item):
        return None
    getter, cols = _spec(type(item))
    problems = None
    for v, (name, fast, kinds, required) in zip(getter(item), cols):
        if v is None:
            if required:
                problems = (problems or []) + [f"{name} is required"]
            continue
        t = type(v)
        if t in fast:
            if t is str:
                if not v:
                    setattr(item, name, None)
                    if required:
                        problems = (problems or []) + [f"{name} is required"]
                elif "\x00" in v:
                    setattr(item, name, v.replace("\x00", ""))
            elif t is float and v != v:
                problems = (problems or []) + [f"{name} is NaN"]
            continue
        if t is not bool and isinstance(v, kinds):
            continue
        if t is str and not v and required:
            problems = (problems or []) + [f"{name} is required"]
            continue
        problems = (problems or []) + [
            f"{name} should be {'/'.join(sorted(x.__name__ for x in kinds))}, got {t.__name__} {v!r:.60}"
        ]
    return "; ".join(problems) if problems else None
