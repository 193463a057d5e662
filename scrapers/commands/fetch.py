"""``scrapy fetch``: as Scrapy's, but it writes nothing to the database and records no run (PDE_DB=off)."""

from typing import Any, ClassVar

from scrapy.commands.fetch import Command as ScrapyCommand


class Command(ScrapyCommand):
    default_settings: ClassVar[dict[str, Any]] = {**ScrapyCommand.default_settings, "PDE_DB": "off"}
