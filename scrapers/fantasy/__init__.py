"""Shared parsing for the fantasy-sports spiders (schema ``fantasy``).

One module per source (``espn``, ``sleeper``, ``pfr``, ``fantasypros``) turns a
decoded response into records from ``scrapers.items.fantasy``; ``normalize``
holds what the sources share: name keys for player matching, NFL team and
position codes, and number/date conversions. The spiders in
``scrapers/spiders/`` only build requests and hand responses to these modules.
"""
