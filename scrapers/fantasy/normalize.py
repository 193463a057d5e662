"""Names, NFL team codes, positions and value conversions shared by the fantasy sources.

The same person is "Patrick Mahomes II" on FantasyPros, "Patrick Mahomes" on
Sleeper and "Patrick Mahomes*" on a Pro-Football-Reference page; his team is
"KC" (Sleeper), "KAN" (PFR), ``12`` (ESPN). ``name_key`` and ``team_code`` make
them comparable so ``fantasy.match_players()`` can link the sources.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

# -- names ---------------------------------------------------------------------------
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v"}


def name_key(name: str | None) -> str | None:
    """Lower-case ASCII name without punctuation, suffixes or PFR's award marks.

    >>> name_key("Patrick Mahomes II"), name_key("De'Von Achane"), name_key("D. J. Moore*+")
    ('patrick mahomes', 'devon achane', 'dj moore')
    """
    if not name:
        return None
    s = unicodedata.normalize("NFKD", name)
    s = "".join(c for c in s if not unicodedata.combining(c)).lower().strip()
    s = s.rstrip("*+ ")
    s = re.sub(r"['’`.]", "", s)
    parts = re.sub(r"[^a-z0-9]+", " ", s).split()
    while len(parts) > 2 and parts[-1] in _SUFFIXES:
        parts.pop()
    merged: list[str] = []  # initials written apart: "d j moore" -> "dj moore"
    initials = False
    for p in parts:
        if len(p) == 1 and initials:
            merged[-1] += p
        else:
            merged.append(p)
            initials = len(p) == 1
    return " ".join(merged) or None


def clean_name(name: str | None) -> str | None:
    """A display name without PFR's Pro Bowl (*) / All-Pro (+) marks and extra spaces."""
    if name is None:
        return None
    s = re.sub(r"\s+", " ", name).strip().rstrip("*+").strip()
    return s or None


# -- NFL teams -------------------------------------------------------------------------
#: canonical codes: the franchise's current abbreviation as Sleeper spells it
TEAMS = (
    "ARI ATL BAL BUF CAR CHI CIN CLE DAL DEN DET GB HOU IND JAX KC "
    "LAC LAR LV MIA MIN NE NO NYG NYJ PHI PIT SEA SF TB TEN WAS"
).split()

_TEAM_ALIASES = {
    # PFR / older abbreviations and relocated franchises -> today's code
    "ARZ": "ARI", "CRD": "ARI", "RAV": "BAL", "BLT": "BAL", "CLV": "CLE", "GNB": "GB",
    "HTX": "HOU", "HST": "HOU", "CLT": "IND", "JAC": "JAX", "KAN": "KC", "SDG": "LAC",
    "SD": "LAC", "LA": "LAR", "STL": "LAR", "RAM": "LAR", "OAK": "LV", "LVR": "LV",
    "RAI": "LV", "NWE": "NE", "NOR": "NO", "SFO": "SF", "TAM": "TB", "OTI": "TEN",
    "WSH": "WAS", "WFT": "WAS",
}

#: ESPN proTeamId -> code (0 = free agent)
ESPN_TEAMS = {
    1: "ATL", 2: "BUF", 3: "CHI", 4: "CIN", 5: "CLE", 6: "DAL", 7: "DEN", 8: "DET", 9: "GB",
    10: "TEN", 11: "IND", 12: "KC", 13: "LV", 14: "LAR", 15: "MIA", 16: "MIN", 17: "NE",
    18: "NO", 19: "NYG", 20: "NYJ", 21: "PHI", 22: "ARI", 23: "PIT", 24: "LAC", 25: "SF",
    26: "SEA", 27: "TB", 28: "WAS", 29: "CAR", 30: "JAX", 33: "BAL", 34: "HOU",
}

_NO_TEAM = {"", "FA", "NONE", "NULL", "0", "--"}


def team_code(value: Any) -> str | None:
    """Canonical NFL team code from any source's spelling; '2TM'-style multi-team marks kept.

    >>> team_code("NOR"), team_code("kan"), team_code("WSH"), team_code(17), team_code("2TM")
    ('NO', 'KC', 'WAS', 'NE', '2TM')
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return ESPN_TEAMS.get(value)
    s = str(value).strip().upper()
    if s in _NO_TEAM:
        return None
    return _TEAM_ALIASES.get(s, s)


# -- positions --------------------------------------------------------------------------
#: ESPN player.defaultPositionId -> position
ESPN_POSITIONS = {1: "QB", 2: "RB", 3: "WR", 4: "TE", 5: "K", 7: "P", 9: "DT", 10: "DE",
                  11: "LB", 12: "CB", 13: "S", 14: "HC", 16: "DEF"}
_POSITION_ALIASES = {"D/ST": "DEF", "DST": "DEF", "D": "DEF", "DEF": "DEF", "PK": "K"}


def position_code(value: Any) -> str | None:
    """'QB', 'RB', ... with every team-defense spelling as 'DEF' and 'PK' as 'K'."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return ESPN_POSITIONS.get(value)
    s = str(value).strip().upper()
    if not s:
        return None
    return _POSITION_ALIASES.get(s, s)


# -- values -------------------------------------------------------------------------------
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _numeric_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    s = str(value).strip().replace(",", "").rstrip("%")
    if s.startswith("$"):
        s = s[1:]
    return s if _NUMBER.match(s) else None


def to_int(value: Any) -> int | None:
    """12, '12', '1,234', '12.0' -> int; '', None, 'Rook', '12.5' -> None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        return int(value) if value == value and value.is_integer() else None
    s = _numeric_text(value)
    if s is None:
        return None
    f = float(s)
    return int(f) if f.is_integer() else None


def to_float(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if value == value else None
    s = _numeric_text(value)
    return float(s) if s is not None else None


def to_decimal(value: Any, places: int | None = None) -> Decimal | None:
    """Exact decimal from a number or numeric text (floats via their shortest repr)."""
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value:
            return None
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        s = _numeric_text(value)
        if s is None:
            return None
        try:
            d = Decimal(s)
        except InvalidOperation:
            return None
    if places is not None:
        d = d.quantize(Decimal(1).scaleb(-places))
    return d


def points(value: Any) -> Decimal | None:
    """Fantasy points rounded to hundredths (as every site displays them)."""
    return to_decimal(value, 2)


def number(value: Any) -> int | float | None:
    """A table cell as int when whole, float when fractional, None when not a number."""
    s = _numeric_text(value)
    if s is None:
        return None
    f = float(s)
    return int(f) if f.is_integer() and "." not in s else f


def from_epoch_ms(value: Any) -> dt.datetime | None:
    ms = to_int(value)
    if ms is None or ms <= 0:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def from_epoch_s(value: Any) -> dt.datetime | None:
    s = to_int(value)
    if s is None or s <= 0:
        return None
    return dt.datetime.fromtimestamp(s, tz=dt.UTC)


def to_date(value: Any) -> dt.date | None:
    """'1993-03-03' or '1/15/1979' -> date; anything else -> None."""
    if not value:
        return None
    s = str(value).strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            pass
    return None


def height_inches(value: Any) -> int | None:
    """'6\\'5"' (Sleeper), '6-0' (PFR) or 72 -> inches."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    m = re.match(r"^\s*(\d)\s*['\-]\s*(\d{1,2})", str(value))
    if m:
        return int(m.group(1)) * 12 + int(m.group(2))
    return to_int(value)


def text_id(value: Any) -> str | None:
    """Ids as text (sources mix 123 and '123'); None for empty."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    return str(value)


def current_season(today: dt.date | None = None) -> int:
    """The NFL season a date belongs to: January-February still count as last year's."""
    today = today or dt.date.today()
    return today.year if today.month >= 3 else today.year - 1
