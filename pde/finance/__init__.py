"""Using the finance data: recurring charges, transfers and the spending forecast (spending.py)."""
