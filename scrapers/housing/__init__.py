"""Parsing helpers of the housing area (Zillow page layouts)."""
