"""Using the finance data: the categorizer (categorize.py); recurring charges, transfers and the spending forecast (spending.py)."""  # noqa: E501 - the string's text is kept verbatim
