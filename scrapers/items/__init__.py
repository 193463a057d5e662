"""Records per area: one module per PostgreSQL schema (housing, finance, fantasy)."""
