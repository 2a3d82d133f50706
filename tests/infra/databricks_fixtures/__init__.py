"""Synthetic wheels and a small program that plans DatabricksWorkloads offline."""
