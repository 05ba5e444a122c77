"""A run: the stages wired together for one preserve pass or one night, and
what comes of it (outcomes, the manifest, the index, a WACZ package)."""
