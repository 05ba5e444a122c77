"""Default limits of a run that the command line shows in its help.

Kept apart from the code that applies them so that ``archiver --help`` can
show them without importing the HTML parser and the network stack.
"""

from __future__ import annotations

from typing import Final

DEFAULT_MAX_PER_PAGE: Final = 200  # requisites of one page; a news page needs 50-150
DEFAULT_MAX_BYTES_PER_PAGE: Final = 50 * 1024 * 1024  # requisite bytes of one page
