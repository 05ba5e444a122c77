"""Preserve every link and image cited in a body of articles, and say which are dead."""

from __future__ import annotations
