"""Fantasy football: leagues, rosters, stats and rankings (schema ``fantasy``).

``records`` holds the area's records and ``normalize`` what its sources share (name
keys for player matching, NFL team and position codes, number/date conversions);
one module per source holds its spider and its parser side by side:
``espn_league``, ``sleeper_league``, ``pfr_stats``, ``fantasypros_rankings``.
"""
