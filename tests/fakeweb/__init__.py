"""A local web that misbehaves in every way the tests need."""
