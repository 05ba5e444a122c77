"""``python -m archiver`` runs the command line."""

from __future__ import annotations

from archiver.cli.entry import run

run()
