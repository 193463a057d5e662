"""What a source is, independent of Scrapy: its errors and its file arguments.

Parsers raise :class:`ParseError` for a page no known layout matches; ``expand_urls``
turns ``-a url=`` (paths, globs, comma lists) into URLs; ``public_args`` is what a
run record and a cassette keep of a spider's arguments.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from pde.cassettes import SECRET_FIELDS


class ParseError(ValueError):
    """A page that does not look like any layout we know. Say which page and why."""


def public_args(spider) -> dict:
    """The run's -a arguments without secret-looking ones: what run records and cassettes keep."""
    return {k: v for k, v in getattr(spider, "pde_args", {}).items() if not SECRET_FIELDS.match(k)}


def expand_urls(spec: str) -> list[str]:
    """Comma-separated URLs, paths or globs -> URLs (paths become file:// URLs)."""
    urls: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if "://" in part and not part.startswith("file://"):
            urls.append(part)
            continue
        path = os.path.expanduser(part.removeprefix("file://"))
        matches = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
        if not matches:
            raise ValueError(f"No file matches {part!r}")
        for m in matches:
            p = Path(m).resolve()
            if not p.exists():
                raise ValueError(f"No such file: {p}")
            urls.append(p.as_uri())
    return urls


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
