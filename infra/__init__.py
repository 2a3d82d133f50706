"""Pulumi ComponentResources, one module per concern. Nothing here reads pulumi.Config."""
