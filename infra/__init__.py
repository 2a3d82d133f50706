"""Pulumi ComponentResources, one module per concern.

Nothing here reads stack config: stacks/ validates it and hands settings down.
"""
