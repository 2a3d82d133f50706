"""Diabetes progression regression on the platform's ML framework (README.md; docs/ml.md, "Projects")."""
