"""pde's home page: one small Starlette app (pde/web/app.py) that links to everything and shows each source's health.

It reads the run records (platform.runs, run_tables, quarantine) in read-only
transactions and never writes data; its only writes are files dropped into the
inbox (PDE_INBOX). Its users live in ``$PDE_HOME/web/users.json`` (pde/web/users.py).
"""
