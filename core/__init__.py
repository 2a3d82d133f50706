"""The bottom layer: vocabularies every package of the platform may import; it imports none of ours."""
