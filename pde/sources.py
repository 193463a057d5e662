"""What a source is, independent of Scrapy: its errors and its file arguments.

Parsers raise :class:`ParseError` for a page no known layout matches (``Truncated`` for a
download that was cut off: ``require_whole_html``); ``expand_urls`` turns ``-a url=`` (paths,
globs, comma lists, names with commas) into URLs; ``public_args`` is what a run record and a
cassette keep of a spider's arguments.
"""

from __future__ import annotations

import glob
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pde.cassettes import SECRET_FIELDS


@dataclass(frozen=True)
class Arg:
    """A spider argument, declared once on the spider class: ``args = (Arg("status", "...", choices=...),)``.

    The agreed shape of issue 9 (name, help, type, default, choices, required, secret). Stand-in until
    the argument machinery (validation, ``pde sources``, DAG docs) lands and replaces this class.
    """

    name: str
    help: str = ""
    type: str = "str"
    default: Any = None
    choices: tuple | None = None
    required: bool = False
    secret: bool = False
    min: float | None = None
    max: float | None = None


class ParseError(ValueError):
    """A page that does not look like any layout we know. Say which page and why."""


def public_args(spider) -> dict:
    """The run's -a arguments without secret-looking ones: what run records and cassettes keep."""
    return {k: v for k, v in getattr(spider, "pde_args", {}).items() if not SECRET_FIELDS.match(k)}


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
            raise ValueError(f"-a url: no file matches {path!r} (from {part!r}).")
        for m in matches:
            p = Path(m).resolve()
            if not p.exists():
                raise ValueError(
                    f"-a url: no such file: {p} (from {part!r}). Check the path; a name with commas is "
                    "taken whole when that file exists."
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
