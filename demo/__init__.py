"""`make demo`: the whole platform on one laptop, offline, as a sequence of timed stages."""
