"""Spider arguments as a user meets them: declared once, checked before anything runs, recorded normalised.

Every mistake is a real `scrapy crawl` subprocess: exit code 2 (usage), one line naming
the argument, the value and what is allowed, no traceback, and no run recorded.
"""

from __future__ import annotations

import ast
import re

import pytest

from pde.sources import Arg, ArgError, declared_args, normalised_args, parse_args
from tests.conftest import ROOT, run_crawl
from tests.helpers import rows
from tests.test_machinery import PAGES, things_cassette

SPIDERS = ("zillow_listings", "bank_csv", "ofx_statements", "plaid_transactions", "espn_league",
           "fantasypros_rankings", "pfr_stats", "sleeper_league")


def error_line(proc) -> str:
    """The one line the crawl command printed about the mistake."""
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


def assert_usage_error(proc, *words):
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "KeyError" not in proc.stderr
    line = error_line(proc)
    for w in words:
        assert w in line, line
    return line


def zillow_statuses() -> list[str]:
    """The statuses the Zillow spider can build URLs for, read from its STATUS_PATHS table (not from Arg)."""
    source = (ROOT / "scrapers" / "housing" / "zillow_listings.py").read_text()
    table = re.search(r"^STATUS_PATHS = (\{.*\})$", source, re.MULTILINE).group(1)
    return list(ast.literal_eval(table))


def test_misspelled_spider_says_did_you_mean(pg_url):
    proc = run_crawl("zilow_listings", db=pg_url)
    assert_usage_error(proc, "zilow_listings", "did you mean zillow_listings")
    assert rows(pg_url, "SELECT count(*) FROM platform.runs") == [(0,)]


def test_unknown_argument_is_refused_with_did_you_mean(pg_url):
    proc = run_crawl("zillow_listings", db=pg_url, args={"serach": "04011"})
    line = assert_usage_error(proc, "serach=04011", "did you mean search?")
    assert "search_url" in line and "-a help=1" in line  # the arguments it does take, and where to read about them
    assert rows(pg_url, "SELECT count(*) FROM platform.runs") == [(0,)]


@pytest.mark.parametrize("spider, args, named", [
    ("zillow_listings", {"search": "04011", "status": "foo"}, "status=foo"),
    ("zillow_listings", {"search": "04011", "pages": "-1"}, "pages=-1"),
    ("zillow_listings", {"search": "04011", "pages": "abc"}, "pages=abc"),
    ("pfr_stats", {"seasons": "last"}, "seasons=last"),
    ("sleeper_league", {"trending": "add,hot"}, "trending=add,hot"),
])
def test_bad_value_is_one_line_naming_argument_value_and_what_is_allowed(pg_url, spider, args, named):
    proc = run_crawl(spider, db=pg_url, args=args)
    line = assert_usage_error(proc, named, "is not allowed")
    name = named.split("=")[0]
    if named == "status=foo":
        assert all(s in line for s in zillow_statuses())
    elif name == "pages":
        assert "whole number" in line and "at least 1" in line
    elif name == "seasons":
        assert "years" in line
    else:
        assert "unknown trending hot" in line and "add, drop" in line
    assert rows(pg_url, "SELECT count(*) FROM platform.runs") == [(0,)]


def test_missing_required_argument_says_which(pg_url):
    proc = run_crawl("espn_league", db=pg_url)
    assert_usage_error(proc, "missing argument -a league_id=", "-a url=")
    proc = run_crawl("zillow_listings", db=pg_url)
    assert_usage_error(proc, "missing argument -a search=", "search_url", "-a url=")
    assert rows(pg_url, "SELECT count(*) FROM platform.runs") == [(0,)]


def test_missing_file_and_missing_configuration_are_usage_errors(pg_url, tmp_path):
    proc = run_crawl("bank_csv", db=pg_url, args={"url": tmp_path / "nope.csv"}, env={"PDE_BANK_CSV_DIR": ""})
    assert_usage_error(proc, "bank_csv", "No such file", "nope.csv")
    proc = run_crawl("bank_csv", db=pg_url, env={"PDE_BANK_CSV_DIR": ""})
    assert_usage_error(proc, "PDE_BANK_CSV_DIR")
    assert rows(pg_url, "SELECT count(*) FROM platform.runs") == [(0,)]


def test_help_lists_the_declared_arguments():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "sleeper_league", "-a", "help=1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the arguments its module docstring has always described
    source = (ROOT / "scrapers" / "fantasy" / "sleeper_league.py").read_text()
    doc = source.split("Arguments:")[1].split("Sleeper allows")[0]
    for name in set(re.findall(r"``([a-z_]+)``", doc)) - {"auto"}:
        assert re.search(rf"^  {name}\s", proc.stdout, re.MULTILINE), (name, proc.stdout)


def test_start_error_is_the_run_message(pg_url, tmp_path):
    """A problem found only when the crawl starts is recorded with its real reason, not 'start_error'."""
    empty = tmp_path / "exports"
    empty.mkdir()
    proc = run_crawl("bank_csv", db=pg_url, args={"url": empty})
    assert proc.returncode == 1
    [(status, message)] = rows(pg_url, "SELECT status, message FROM platform.runs")
    assert status == "failed"
    folder = re.escape(str(empty))
    assert re.search(rf"could not start: No [./a-z]*csv[./a-z]* files in folder {folder}", message), message


def test_defaults_given_or_not_are_one_run_key(pg_url, tmp_path):
    """start_page=1 given explicitly is the same crawl as not given: same recorded arguments (and lock key)."""
    cas = things_cassette(tmp_path / "things.json", PAGES)
    first = run_crawl("selftest_things", db=pg_url, cassette=cas)
    second = run_crawl("selftest_things", db=pg_url, cassette=cas, args={"start_page": "01"})
    assert first.returncode == 0 and second.returncode == 0, second.stderr[-2000:]
    assert rows(pg_url, "SELECT args FROM platform.runs ORDER BY run_id") == [({"start_page": "1"},)] * 2


def test_every_spider_declares_its_arguments():
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    loader = SpiderLoader.from_settings(get_project_settings())
    assert set(SPIDERS) <= set(loader.list())
    for name in loader.list():
        cls = loader.load(name)
        args = declared_args(cls)
        assert "url" in args and len(args) >= 2, name
        assert all(a.help for a in args.values()), name
        # every keyword the module docstring names as an argument is declared
        doc = (__import__(cls.__module__, fromlist=["x"]).__doc__ or "").split("Parsing\n---")[0]
        for word in re.findall(r"``-a (\w+)=", doc) + re.findall(r"-a (\w+)=", doc):
            assert word in args, (name, word)


def test_normalised_arguments_fill_in_defaults():
    from scrapers.fantasy.sleeper_league import SleeperLeagueSpider

    assert SleeperLeagueSpider(trending_limit="25").pde_args == SleeperLeagueSpider().pde_args
    assert SleeperLeagueSpider(trending="drop,add").pde_args["trending"] == "drop,add"
    assert SleeperLeagueSpider(trending_limit="10").pde_args["trending_limit"] == "10"


def test_arg_types():
    class S:
        name = "s"
        args = (Arg("n", type=int, min=0), Arg("f", type=float), Arg("b", type=bool, default=False),
                Arg("d", type="date"), Arg("l", type=list, item=int), Arg("c", choices=("A", "B")),
                Arg("token", secret=True))

    values = parse_args(S, {"n": "3", "f": "2.5", "b": "yes", "d": "2026-01-31", "l": "1, 2", "c": "a", "token": "x"})
    assert values["n"] == 3 and values["f"] == 2.5 and values["b"] is True and values["l"] == [1, 2]
    assert values["c"] == "A" and str(values["d"]) == "2026-01-31"
    assert normalised_args(S, values) == {"n": "3", "f": "2.5", "b": "1", "d": "2026-01-31", "l": "1,2", "c": "A"}
    for bad, words in [({"n": "-1"}, "-a n=-1"), ({"d": "31/01/2026"}, "date YYYY-MM-DD"), ({"l": "1,x"}, "whole"),
                       ({"b": "maybe"}, "1 or 0"), ({"c": "z"}, "one of A, B"), ({"tokn": "1"}, "did you mean token?")]:
        with pytest.raises(ArgError, match=re.escape(words)):
            parse_args(S, bad)


def _pde(*argv, env=None):
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "pde.cli", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False, env={**os.environ, **(env or {})})


def test_pde_sources_lists_every_spider_with_its_arguments():
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    proc = _pde("sources")
    assert proc.returncode == 0, proc.stderr
    loader = SpiderLoader.from_settings(get_project_settings())
    blocks = {b.split(" ", 1)[0]: b for b in proc.stdout.strip().split("\n\n")}
    assert sorted(blocks) == sorted(loader.list())
    for name in loader.list():
        for arg in declared_args(loader.load(name)).values():
            line = rf"^  {arg.name}\s+{re.escape(arg.help[:30])}"
            assert re.search(line, blocks[name], re.MULTILINE), (name, arg.name)
    assert "-a search='Brunswick, ME'" in blocks["zillow_listings"]  # an example of what a live crawl needs


def test_pde_sources_markdown_and_unknown_spider():
    proc = _pde("sources", "--markdown", "pfr_stats")
    assert proc.returncode == 0
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == ["url", "seasons", "pages", "players", "rosters"]
    assert "| fantasy,passing,rushing,receiving |" in proc.stdout
    proc = _pde("sources", "zilow")
    assert proc.returncode == 2 and "no spider 'zilow'; did you mean zillow_listings?" in proc.stderr
