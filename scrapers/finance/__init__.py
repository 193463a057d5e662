"""Parsing helpers of the finance spiders (ofx_statements, bank_csv, plaid_transactions).

- ``common``: amounts, stable ids for rows without an institution id, file arguments.
- ``ofx``: OFX/QFX statements (SGML 1.x and XML 2.x) to records; Direct Connect requests.
- ``bank_csv`` + ``bank_profiles.toml``: one profile per bank's CSV layout, kept as data.
- ``plaid``: Plaid /transactions/sync and older responses to records; the stored cursor.
- ``categorize``: rules from finance.category_rules, then a model for the rest.
"""
