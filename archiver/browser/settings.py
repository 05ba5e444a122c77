"""How a run uses the browser: the mode and the limits, as the options set them.

Kept apart from the modules that import trio, so the command line can build
settings (and ``archiver --help`` can run) without the browser stage loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class BrowserMode(StrEnum):
    """When a page is rendered in Chromium as well as fetched."""

    AUTO = "auto"  # when plain capture says the page needs script
    ALWAYS = "always"  # every HTML page
    NEVER = "never"


# Sites whose pages are empty shells without script; a link to one of them
# (or a subdomain) is rendered in auto mode whatever its HTML looks like.
SCRIPT_HOSTS: Final = (
    "x.com",
    "twitter.com",
    "instagram.com",
    "facebook.com",
    "tiktok.com",
    "threads.net",
    "bsky.app",
    "linkedin.com",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BrowserSettings:
    """The browser stage's settings; ``--browser*`` options land here."""

    mode: BrowserMode = BrowserMode.AUTO
    executable: str | None = None  # None: "chromium" found on PATH
    tabs: int = 2  # pages rendered at once (one browser, one context per page)
    page_time: float = 30.0  # seconds a page may take to load and settle
    memory_mb: int = 1024  # JavaScript heap ceiling of each page's renderer
    hosts: tuple[str, ...] = SCRIPT_HOSTS
    max_requests: int = 1000  # requests one page may make; later ones get 429
