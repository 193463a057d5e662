"""What a source is, independent of Scrapy: its errors, its arguments and its file arguments.

Parsers raise :class:`ParseError` for a page no known layout matches (``Truncated`` for a
download that was cut off: ``require_whole_html``, ``load_json``). A spider
declares its ``-a`` arguments once, as ``args = (Arg(...), ...)``; that one
declaration validates a crawl's arguments before it starts (:func:`parse_args`,
:func:`check_required`), is listed by ``pde sources`` and ``-a help=1``, goes
into the README's table and the Airflow DAG docs (read from the source without
importing the spider), and gives the normalised arguments (defaults filled in)
that a run record keeps and its concurrency lock is keyed on (:func:`public_args`).
``expand_urls`` turns ``-a url=`` (paths, globs, comma lists, names and web addresses with
commas) into URLs.
"""

from __future__ import annotations

import datetime as dt
import difflib
import glob
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pde.secrets import SECRET_FIELDS, mask_dsn, scrub_query_secrets


class ParseError(ValueError):
    """A page that does not look like any layout we know. Say which page and why."""


class ArgError(ValueError):
    """A crawl's arguments are wrong (unknown, bad value, missing): a usage error, exit code 2, never retried."""


TYPES = ("str", "int", "float", "bool", "list", "date")
_TYPE_WORDS = {"str": "text", "int": "a whole number", "float": "a number", "bool": "1 or 0 (true/false, yes/no)",
               "date": "a date YYYY-MM-DD"}
_ITEM_WORDS = {"str": "values", "int": "whole numbers", "float": "numbers", "date": "dates YYYY-MM-DD"}


def _type_name(t: Any) -> str:
    name = t if isinstance(t, str) else getattr(t, "__name__", str(t))
    if name not in TYPES:
        raise TypeError(f"Arg type must be one of {', '.join(TYPES)}, not {t!r}")
    return name


@dataclass(frozen=True)
class Arg:
    """One ``-a name=value`` argument of a spider.

    ``type``: str, int, float, bool, date, or list (comma-separated values, each of
    ``item`` type). ``choices`` (case-insensitive; each item of a list), ``min``/``max``
    (numbers, each item of a list) and ``pattern`` (a regex the whole text matches,
    ``allowed`` says it in words) restrict values. ``required``: a live crawl needs it
    (a crawl of saved files, ``-a url=``, does not); ``instead_of`` names a required
    argument this one can replace. ``secret`` values are never recorded or shown.
    Keep the declaration literal (strings, numbers, tuples): the Airflow DAG files
    read it from the source without importing the spider.
    """

    name: str
    help: str = ""
    type: Any = "str"
    default: Any = None
    choices: tuple = ()
    required: bool = False
    secret: bool = False
    min: float | None = None
    max: float | None = None
    item: Any = "str"
    pattern: str | None = None
    allowed: str = ""
    instead_of: str | None = None
    example: str = ""

    def __post_init__(self):
        object.__setattr__(self, "type", _type_name(self.type))
        object.__setattr__(self, "item", _type_name(self.item))
        object.__setattr__(self, "choices", tuple(self.choices))

    # -- words ---------------------------------------------------------------------
    def allowed_text(self) -> str:
        """What values are allowed, in words (error messages, `pde sources`)."""
        if self.allowed:
            return self.allowed
        if self.type == "list":
            if self.choices:
                text = f"a comma list of {', '.join(map(str, self.choices))}"
            else:
                text = f"a comma list of {_ITEM_WORDS.get(self.item, 'values')}"
        elif self.choices:
            text = "one of " + ", ".join(map(str, self.choices))
        else:
            text = _TYPE_WORDS.get(self.type, "text")
        bounds = []
        if self.min is not None:
            bounds.append(f"at least {self.min:g}")
        if self.max is not None:
            bounds.append(f"at most {self.max:g}")
        if bounds:
            text += (" each " if self.type == "list" else ", ") + " and ".join(bounds)
        return text

    def default_text(self) -> str:
        return "" if self.default is None else to_text(self, self.parse(self.default))

    # -- values --------------------------------------------------------------------
    def parse(self, value: Any) -> Any:
        """The typed value of ``-a name=value`` text (or an already typed value); ArgError if not allowed."""
        if self.type == "list":
            if isinstance(value, (list, tuple, set)):
                parts = [str(v).strip() for v in value]
            else:
                parts = [p.strip() for p in str(value).split(",")]
            return [self._one(p, self.item, value) for p in parts if p]
        if self.type == "str" and isinstance(value, str) and self.pattern is None and not self.choices:
            return value
        return self._one(value if isinstance(value, (bool, int, float, dt.date)) else str(value).strip(),
                         self.type, value)

    def _one(self, value: Any, kind: str, given: Any) -> Any:
        try:
            if kind == "bool":
                typed = value if isinstance(value, bool) else _bool(str(value))
            elif kind == "int":
                typed = value if isinstance(value, int) and not isinstance(value, bool) else int(str(value), 10)
            elif kind == "float":
                typed = float(value)
            elif kind == "date":
                typed = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
            else:
                typed = str(value)
        except ValueError:
            raise self._bad(given) from None
        if self.choices:
            match = next((c for c in self.choices if str(c).lower() == str(typed).lower()), None)
            if match is None:
                raise self._bad(given, unknown=typed)
            typed = match
        if kind == "str" and self.pattern is not None and not re.fullmatch(self.pattern, typed):
            raise self._bad(given)
        if kind in ("int", "float") and ((self.min is not None and typed < self.min)
                                         or (self.max is not None and typed > self.max)):
            raise self._bad(given)
        return typed

    def _bad(self, given: Any, unknown: Any = None) -> ArgError:
        what = f"unknown {self.name} {unknown}; " if unknown is not None and self.type == "list" else ""
        return ArgError(f"-a {self.name}={given} is not allowed: {what}{self.name} takes {self.allowed_text()}")


def _bool(text: str) -> bool:
    if not text:  # `-a details=` with nothing after it is a mistake, not "no"
        raise ValueError(text)
    return is_true(text)


def to_text(arg: Arg, value: Any) -> str:
    """The canonical ``-a`` text of a typed value: what run records keep and locks compare."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(to_text(arg, v) for v in value)
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# -- a spider's declaration -------------------------------------------------------------
def declared_args(spidercls) -> dict[str, Arg]:
    """Every argument of a spider class: its ``args`` and its bases' (a subclass's declaration wins)."""
    out: dict[str, Arg] = {}
    for klass in reversed(getattr(spidercls, "__mro__", (spidercls,))):
        for arg in vars(klass).get("args", ()) or ():
            if isinstance(arg, Arg):
                out[arg.name] = arg
    return out


def has_declaration(spidercls) -> bool:
    return bool(declared_args(spidercls))


def suggest(word: str, options) -> str:
    """'; did you mean X?' when a close match exists, else ''."""
    def score(option: str) -> float:  # whole name, or its start ("zilow" -> "zillow_listings")
        return max(difflib.SequenceMatcher(None, word, o).ratio() for o in (option, option[:len(word) + 1]))

    scored = sorted(((score(o), o) for o in options), reverse=True)
    return f"; did you mean {scored[0][1]}?" if scored and scored[0][0] >= 0.75 else ""


def parse_args(spidercls, given: dict[str, Any]) -> dict[str, Any]:
    """Typed values of every declared argument (defaults filled in, None when neither given nor defaulted).

    Raises ArgError, one line naming the argument, the value and what is allowed, for
    an unknown argument (with a did-you-mean) or a bad value. Values of None count as
    not given.
    """
    name = getattr(spidercls, "name", None) or spidercls.__name__
    declared = declared_args(spidercls)
    for key, value in given.items():
        if key not in declared and value is not None:
            raise ArgError(
                f"{name}: unknown argument -a {key}={value}{suggest(key, declared) or '.'} "
                f"{name} takes {', '.join(declared) or 'no arguments'} "
                f"(scrapy crawl {name} -a help=1, or pde sources {name}, describes them)."
            )
    values: dict[str, Any] = {}
    for key, arg in declared.items():
        raw = given.get(key)
        try:
            values[key] = arg.parse(raw) if raw is not None else (
                None if arg.default is None else arg.parse(arg.default))
        except ArgError as exc:
            raise ArgError(f"{name}: {exc}") from None
    check = getattr(spidercls, "check_args", None)
    if callable(check):
        try:
            check(values)
        except ArgError as exc:
            raise ArgError(f"{name}: {exc}" if not str(exc).startswith(f"{name}:") else str(exc)) from None
    return values


def check_required(spidercls, values: dict[str, Any]) -> None:
    """ArgError naming what a live crawl is missing (a crawl of saved files, ``-a url=``, needs none)."""
    name = getattr(spidercls, "name", None) or spidercls.__name__
    declared = declared_args(spidercls)
    if values.get("url"):
        return
    for arg in declared.values():
        if not arg.required or values.get(arg.name) not in (None, "", []):
            continue
        stand_ins = [a.name for a in declared.values() if a.instead_of == arg.name and values.get(a.name)]
        if stand_ins:
            continue
        alternatives = [f"-a {a.name}=..." for a in declared.values() if a.instead_of == arg.name]
        if "url" in declared:
            alternatives.append("-a url=<saved files>")
        what = f" ({arg.help})" if arg.help else ""
        raise ArgError(f"{name}: missing argument -a {arg.name}=...{what}"
                       + (f"; or give {' or '.join(alternatives)}" if alternatives else "") + ".")


def normalised_args(spidercls, values: dict[str, Any]) -> dict[str, str]:
    """The arguments as a run record keeps them: every declared value (defaults included) as
    canonical text, secrets left out, so ``trending_limit=25`` given == not given."""
    out = {}
    for key, arg in declared_args(spidercls).items():
        value = values.get(key)
        if value is None or arg.secret or SECRET_FIELDS.match(key):
            continue
        out[key] = to_text(arg, value)
    return out


def public_args(spider) -> dict:
    """The run's -a arguments without secret-looking ones: what run records, cassettes and locks keep.

    Secret-looking names are dropped; in the other values, secret-looking query parameters
    (``url=https://...?token=...``) and DSN passwords are masked.
    """
    return {k: _scrub_value(v) for k, v in getattr(spider, "pde_args", {}).items() if not SECRET_FIELDS.match(k)}


def _scrub_value(value):
    return mask_dsn(scrub_query_secrets(value)) if isinstance(value, str) else value


def describe_args(spidercls_or_args, markdown: bool = False) -> list[str]:
    """One line per argument: name, what it is, allowed values, default, required."""
    args = spidercls_or_args if isinstance(spidercls_or_args, dict) else declared_args(spidercls_or_args)
    lines = []
    for arg in args.values():
        notes = []
        if arg.required:
            others = [a.name for a in args.values() if a.instead_of == arg.name]
            notes.append("required for a live crawl" + (f" (or {', '.join(others)})" if others else ""))
        if arg.default is not None:
            notes.append(f"default {arg.default_text() or '(empty)'}")
        if arg.secret:
            notes.append("secret: never recorded")
        allowed = arg.allowed_text()
        if markdown:
            lines.append(f"| `{arg.name}` | {arg.help} | {allowed} | {arg.default_text() or ''} | "
                         f"{'; '.join(n for n in notes if not n.startswith('default'))} |")
        else:
            lines.append(f"  {arg.name:<15} {arg.help}" + (f" [{allowed}]" if allowed != "text" else "")
                         + (f" ({'; '.join(notes)})" if notes else ""))
    return lines


def check_files(spec: str) -> None:
    """ArgError when a local part of ``-a url=`` (a path, glob or folder) names nothing that exists."""
    for part in split_spec(spec):  # commas inside a file's name or a web address stay in it
        try:
            path = local_path(part)
        except ValueError as exc:
            raise ArgError(f"-a url={spec}: {exc}") from None
        if path is None or os.path.isdir(path):
            continue
        try:
            expand_urls(part)
        except ValueError as exc:
            raise ArgError(f"-a url={spec}: {exc}") from None


def local_path(part: str) -> str | None:
    """The file path a ``-a url=`` part names (``file://`` URLs decoded: ``%20`` is a space), None for http(s)."""
    if "://" in part and not part.startswith("file://"):
        return None
    if part.startswith("file://"):
        split = urlsplit(part)
        path = unquote(split.path)
        if split.netloc not in ("", "localhost"):
            raise ValueError(f"{part!r}: a file:// URL on another host ({split.netloc}) cannot be read")
        return path
    return os.path.expanduser(part)


def split_spec(spec: str) -> list[str]:
    """Split a comma list of URLs, paths and globs, keeping commas that belong to a file's name.

    Browsers save pages as "Recently Sold Homes in 33160 - 4,881 Transactions | Zillow.html": a run
    of comma-separated pieces that together name an existing file or folder stays one piece.
    """
    parts = spec.split(",")
    out: list[str] = []
    i = 0
    while i < len(parts):
        for j in range(len(parts), i + 1, -1):  # the longest joined run that exists wins
            joined = ",".join(parts[i:j]).strip()
            path = local_path(joined) if joined else None
            if path and os.path.exists(path):
                out.append(joined)
                i = j
                break
        else:
            piece, i = parts[i].strip(), i + 1
            path = local_path(piece) if piece else None
            # A web address keeps its commas (Zillow's searchQueryState, Redfin's sf=1,2,3). A missing path
            # does too: pieces that cannot start a path ("... page 2.html") continue its name, so the
            # message names the file the user meant.
            if (piece and path is None) or (path and not os.path.exists(path) and not glob.has_magic(path)
                                            and piece.startswith(("/", "~", "file://"))):
                while i < len(parts) and parts[i].strip() and not parts[i].strip().startswith(_STARTS):
                    piece, i = f"{piece},{parts[i]}", i + 1
            if piece:
                out.append(piece)
    return out


_STARTS = ("/", "~", "file://", "http://", "https://", ".")


def expand_urls(spec: str) -> list[str]:
    """Comma-separated URLs, paths or globs -> URLs (paths become file:// URLs).

    Raises ValueError naming the path that is missing, so the run's message says which one.
    """
    urls: list[str] = []
    for part in split_spec(spec):
        path = local_path(part)
        if path is None:
            urls.append(part)
            continue
        matches = sorted(glob.glob(path)) if glob.has_magic(path) and not os.path.exists(path) else [path]
        if not matches:
            raise ValueError(f"No file matches {path!r}" + ("" if path == part else f" (from {part!r})") + ".")
        for m in matches:
            p = Path(m).resolve()
            if not p.exists():
                raise ValueError(
                    f"No such file: {p}" + ("" if str(p) == part else f" (from {part!r})")
                    + ". Check the path; a name with commas is taken whole when that file exists."
                )
            urls.append(p.as_uri())
    return urls


class Truncated(ParseError):
    """A download that was cut off: refused whole, so it never replaces good rows with fewer."""


def require_whole_html(text: str, where: str, what: str = "page") -> None:
    """Refuse an HTML page that is cut off (no ``</html>`` at its end) or only an extract of one (no ``<html>``).

    A page cut off mid-way still parses (the tables before the cut), and would replace the rows of the
    complete page with fewer sections; an extract (one table saved on its own) lacks what names the season.
    """
    head, tail = text[:5000].lower(), text[-5000:].lower()
    if "<html" not in head:
        tables = re.findall(r"<table[^>]*\bid=[\"']?([\w-]+)", text[:200_000])
        holds = f" (it holds table#{', table#'.join(tables[:5])})" if tables else ""
        raise ParseError(
            f"{where}: not a whole {what}: no <html> at its start, only an extract of one{holds}. "
            "Nothing was taken from it. Save the whole page from the browser (Ctrl+S) and crawl that file."
        )
    if "</html>" not in tail:
        raise Truncated(
            f"{where}: truncated: the {what} stops after {len(text):,} characters without its end (</html>); "
            "the download was cut off. Nothing was taken from it, so rows from the complete page stay as they "
            "were. Download it again."
        )


def load_json(text: str, where: str, what: str = "answer"):
    """``json.loads`` that says "truncated" when the text stops before the JSON ends (a cut-off download)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if _unclosed(text):
            raise Truncated(
                f"{where}: truncated: the {what} stops after {len(text):,} characters before its JSON ends; the "
                "download was cut off. Nothing was taken from it; download it again."
            ) from exc
        raise ParseError(f"{where}: not JSON ({exc}); expected {what}") from exc


def _unclosed(text: str) -> bool:
    """True when the text ends inside a JSON string, object or array: cut off, not malformed."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth < 0:
                return False
    return in_string or depth > 0


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("", "0", "false", "no", "off")


def is_true(value, default: bool = False) -> bool:
    """A yes/no flag from ``-a``/``-s`` or the environment: 1/true/yes/on or 0/false/no/off, any case.

    ``None`` gives ``default``; anything else is refused with a message rather than read as "no".
    """
    if isinstance(value, bool):
        return value
    if value is None:
        return default
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"{value!r} is not a yes/no value: use 1, true, yes or on (or 0, false, no, off)")
