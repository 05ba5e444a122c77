"""CSV cells that spreadsheets open as text, never as formulas.

Both the run's ``dead-links.csv`` and the report's CSV are opened by editors in
spreadsheet programs, and their cells hold anchor texts and titles from the
web; the rule lives below both stages so they share it.
"""

from __future__ import annotations

from typing import Final

# A cell starting with one of these is run as a formula by spreadsheet programs;
# anchor texts and titles come from the web, so they must not be able to.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """``value`` for a CSV cell: text that would start a formula gets a ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
