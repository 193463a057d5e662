"""Fantasy, using the data: the draft cheat sheet (and the projections)."""
