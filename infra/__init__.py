"""Pulumi ComponentResources, one module per concern. Nothing here reads stack config: stacks/ hands settings down."""
