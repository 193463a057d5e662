"""Housing: listings, their price history and tax records (schema ``housing``).

``records`` holds the area's records; one module per source holds its spider and
its parser side by side (``zillow_listings``).
"""
