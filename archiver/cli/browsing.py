"""The ``--browser*`` options of ``preserve`` and ``nightly``, and their settings.

Apart from :mod:`archiver.cli.options` so the browser stage's options live
in one place; ``run_options`` stacks them on every archiving command.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import TypeVar

import click

from archiver.browser.settings import SCRIPT_HOSTS, BrowserMode, BrowserSettings
from archiver.errors import UsageError

F = TypeVar("F", bound=Callable[..., object])


def browser_options(func: F) -> F:
    """Options of the browser stage (see the README's "Pages built by script").

    The command receives them as ``browsing``: BrowserSettings, checked.
    """
    from archiver.cli.options import grouped

    options = [
        click.option(
            "--browser",
            "browser_mode",
            type=click.Choice([m.value for m in BrowserMode]),
            default=BrowserMode.AUTO.value,
            show_default=True,
            help="Also render pages in headless Chromium: when plain capture says "
            "they need script (auto), every HTML page (always), or never.",
        ),
        click.option(
            "--browser-tabs",
            type=click.IntRange(min=1),
            default=2,
            show_default=True,
            help="Pages rendered at once.",
        ),
        click.option(
            "--browser-time",
            type=click.FloatRange(min=0, min_open=True),
            default=30.0,
            show_default=True,
            help="Seconds a page may take to load and settle; then it is kept "
            "as it is.",
        ),
        click.option(
            "--browser-memory",
            type=click.IntRange(min=16),
            default=1024,
            show_default=True,
            help="JavaScript heap ceiling of each page, in MB.",
        ),
        click.option(
            "--browser-host",
            "browser_hosts",
            metavar="HOST",
            multiple=True,
            help="A site whose pages need script, rendered in auto mode "
            "(repeatable; x.com, instagram.com and others are built in).",
        ),
        click.option(
            "--chromium",
            metavar="PROGRAM",
            help="The Chromium to run  [default: chromium on PATH].",
        ),
    ]
    return grouped("browsing", browser_settings, options)(func)


def browser_settings(
    *,
    browser_mode: str,
    browser_tabs: int,
    browser_time: float,
    browser_memory: int,
    browser_hosts: tuple[str, ...],
    chromium: str | None,
) -> BrowserSettings:
    """BrowserSettings from the options; ``always`` without Chromium: usage error."""
    mode = BrowserMode(browser_mode)
    program = chromium
    if mode is BrowserMode.ALWAYS and shutil.which(program or "chromium") is None:
        raise UsageError(
            f"--browser always: no {program or 'chromium'} to run (install "
            "Debian's chromium package, or use --browser auto to capture without it)"
        )
    hosts = tuple(h.strip().lower().rstrip(".") for h in browser_hosts)
    return BrowserSettings(
        mode=mode,
        executable=program,
        tabs=browser_tabs,
        page_time=browser_time,
        memory_mb=browser_memory,
        hosts=(*SCRIPT_HOSTS, *hosts),
    )
