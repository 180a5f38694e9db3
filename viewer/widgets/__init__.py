"""One widget per view."""
