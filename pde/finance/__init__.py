"""Finance, using the data: the categorizer (and the models)."""
