"""The Iris classifier on the platform's ML framework (README.md; docs/ml.md, "Projects")."""
