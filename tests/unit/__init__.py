"""Unit tests: one module each, no network beyond 127.0.0.1."""
