"""Using the fantasy data: pde's own season projections (projections.py)."""
