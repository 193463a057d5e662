"""Using the fantasy data: the draft cheat sheet (cheatsheet.py) and pde's own season projections (projections.py)."""
