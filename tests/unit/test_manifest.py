"""CSV output that is safe to open in a spreadsheet."""

from __future__ import annotations

import pytest

from archiver.cells import spreadsheet_safe


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://evil.example")', '\'=HYPERLINK("http://evil.example")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("plain text", "plain text"),
        ("https://example.com/=x", "https://example.com/=x"),
        (404, 404),
    ],
)
def test_csv_cells_cannot_start_a_formula(value, safe):
    assert spreadsheet_safe(value) == safe
