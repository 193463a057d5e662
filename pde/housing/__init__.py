"""Using the housing data: the house value model (value.py)."""
