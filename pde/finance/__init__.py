"""Using the finance data: the categorizer (categorize.py); recurring charges, transfers and the spending forecast (spending.py)."""
