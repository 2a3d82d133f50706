"""Typed per-environment settings: schema, defaults, validation, loading, and the offline plan."""
