"""Bank CSV exports (Chase, Bank of America, Schwab, Fidelity, Venmo, N26, ING...) into finance.*.

Reads CSV files downloaded from a bank's website. Which bank a file comes from
is recognised from its header line against the profiles in
scrapers/finance/bank_profiles.toml and the user's own $PDE_HOME/bank_profiles.toml;
a new bank is a new profile there, not code. A layout no profile knows loads
with a guessed mapping when its columns are clear (said in the run's message and
saved as a user profile), else the run fails with the `pde csv-profile` command
that writes one. Rows carry no bank id, so each gets ``csv:<sha1 of account|date|amount|
description|n>``: the same file twice never duplicates, two identical coffees
on one day stay two.

Arguments:
- ``-a url=~/Downloads/bank`` a folder (its *.csv files), a file, a glob or a comma list;
  without it (scheduled runs) the folder ``PDE_BANK_CSV_DIR``. Loading a file again
  changes nothing.
- ``-a account=everyday-checking`` the account, for files that have no account
  column (default: the file name without extension, which changes with every
  download, so pass it).
- ``-a profile=schwab_checking`` force a profile (the project's or your own) instead of
  recognising it.

Credentials: none (files only).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import scrapy

from scrapers.finance.bank_csv import load_all_profiles, read_bank_csv, save_user_profile
from scrapers.finance.common import expand_files, file_stem, source_name
from scrapers.spiders.base import PdeSpider


class BankCsvSpider(PdeSpider):
    name = "bank_csv"
    area = "finance"
    file_suffixes = (".csv", ".tsv")

    def __init__(self, *args, account: str | None = None, profile: str | None = None, **kwargs):
        super().__init__(*args, account=account, profile=profile, **kwargs)
        self.account = account
        self.profile = profile
        self.profiles = load_all_profiles()
        #: said in the run's message when the crawl succeeds (guessed layouts)
        self.run_notes: list[str] = []

    async def start(self) -> AsyncIterator[scrapy.Request]:
        spec = self.url or os.environ.get("PDE_BANK_CSV_DIR")
        if not spec:
            raise ValueError("bank_csv reads downloaded files: pass -a url=<file, folder or glob> "
                             "or set PDE_BANK_CSV_DIR to the folder where you save exports")
        for target in expand_files(spec, self.file_suffixes):
            yield scrapy.Request(target, callback=self.parse, dont_filter=True)

    def parse(self, response):
        source = source_name(response.url)
        parsed = read_bank_csv(
            response.body, source, self.profiles, account=self.account,
            fallback_account=file_stem(response.url), profile_name=self.profile,
        )
        if parsed.guess is not None:
            self.remember_guess(source, parsed)
        yield from parsed.records

    def remember_guess(self, source: str, parsed) -> None:
        """Save a guessed layout as the user's profile and say so in the log and the run."""
        profile, guess = parsed.profile, parsed.guess
        profile.guessed = f"guessed from {source}"
        path = save_user_profile(profile)
        self.profiles[profile.name] = profile
        amount = (f"amount={profile.amount!r} ({profile.sign} sign)" if profile.amount and not profile.direction
                  else f"amount={profile.amount!r} by {profile.direction!r}" if profile.direction
                  else f"debit={profile.debit!r} credit={profile.credit!r}")
        note = (f"{source}: no bank profile knows this layout; loaded with a guessed mapping "
                f"(date={profile.date!r} as {profile.date_format}, {amount}, description={profile.payee!r}, "
                f"currency {profile.currency or profile.currency_column}"
                + (f"; {'; '.join(guess.assumptions)}" if guess.assumptions else "")
                + f"), saved as profile {profile.name!r} in {path}. If a value is wrong, fix it there or "
                f"run: {guess.command(source)}")
        self.logger.warning(note)
        self.run_notes.append(note)
