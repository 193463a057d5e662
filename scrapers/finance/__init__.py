"""Finance: accounts, balances and transactions (schema ``finance``).

``records`` holds the area's records and ``common`` what its sources share
(amounts, stable ids, file arguments); one module per source holds its spider
and its parser side by side: ``ofx_statements``, ``bank_csv`` (+ ``bank_profiles.toml``),
``plaid_transactions``.
"""
