"""The options the commands share, and turning them into settings.

Options are declared once here and stacked on commands as decorators, so a
fetching option means the same in ``preserve`` and ``nightly``, and
``archiver.toml`` (see :mod:`archiver.cli.config`) can set any of them.
"""

from __future__ import annotations

import functools
import inspect
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

import click

from archiver.articles.unwrap import DEFAULT_RULES, WrapperRule, parse_rule
from archiver.cli import config
from archiver.cli.browsing import browser_options
from archiver.cli.types import (
    DAY,
    Finite,
    HostPort,
    StoreParam,
    Text,
    WebURL,
    Whole,
    seconds,
)
from archiver.errors import UsageError
from archiver.run.limits import DEFAULT_MAX_BYTES_PER_PAGE, DEFAULT_MAX_PER_PAGE
from archiver.store.base import STORE_NAME
from archiver.store.location import SCHEMES, StoreLocation, masked

if TYPE_CHECKING:
    from archiver.browser.settings import BrowserSettings
    from archiver.run.preserve import PreserveSettings

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}
DEFAULT_INPUT = Path("seeds")
DEFAULT_OUT = Path("warcs")
_URL_ARGUMENT = re.compile(r"https?://", re.IGNORECASE)
# Anything that starts like a URL is taken for one: ftp://x is no file name.
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)

F = TypeVar("F", bound=Callable[..., object])
Option = Callable[[Any], Any]  # what click.option returns


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchChoices:
    """The values of :func:`fetch_options`, as click parsed them (one per option)."""

    concurrency: int
    per_host: int
    delay: float
    retries: int
    retry_base: float
    retry_after_cap: float
    timeout: float
    max_time: float | None
    host_failures: int
    max_size: int
    proxy: str | None
    ca_bundle: Path | None
    user_agent: str | None
    allow_private: bool
    private_allowed: tuple[str, ...]


def history_store_option(func: F) -> F:
    """``--store`` of the commands that read the history nightly wrote."""
    return click.option(
        "--store",
        type=StoreParam(),
        default=DEFAULT_OUT / STORE_NAME,
        show_default=True,
        help="History store written by archiver nightly: a SQLite file or a "
        "postgresql:// URL.",
    )(func)


def existing_store(store: StoreLocation) -> StoreLocation:
    """``store``, refused in one line when it is a file that is not there.

    Reading commands never make a store: an empty one would answer every
    question with nothing, which reads as "no link is dead".
    """
    if isinstance(store, Path) and not store.is_file():
        raise UsageError(f"--store {store}: no such file (archiver nightly makes it)")
    return store


def fetch_options(func: F) -> F:
    """The options every command that fetches shares, passed as ``fetching``."""
    options = [
        click.option(
            "--concurrency",
            type=Whole(lowest=1, highest=10_000),
            default=64,
            show_default=True,
            help="Requests in flight at once, across all hosts.",
        ),
        click.option(
            "--per-host",
            type=Whole(lowest=1, highest=1_000),
            default=4,
            show_default=True,
            help="Requests in flight at once to any one host.",
        ),
        click.option(
            "--delay",
            type=seconds(most=3600),
            default=0.0,
            show_default=True,
            help="Minimum seconds between two request starts to one host.",
        ),
        click.option(
            "--retries",
            type=Whole(lowest=1, highest=100),
            default=3,
            show_default=True,
            help="Attempts per request, the first included, on transient failures.",
        ),
        click.option(
            "--retry-base",
            type=seconds(most=3600),
            default=1.0,
            show_default=True,
            help="First backoff in seconds; it doubles, with jitter, each retry.",
        ),
        click.option(
            "--retry-after-cap",
            type=seconds(most=DAY),
            default=60.0,
            show_default=True,
            help="Longest Retry-After honoured; a longer one ends the retries.",
        ),
        click.option(
            "--timeout",
            type=seconds(most=DAY, positive=True),
            default=30.0,
            show_default=True,
            help="Seconds to wait for a connection or for the next bytes.",
        ),
        click.option(
            "--max-time",
            type=seconds(most=7 * DAY, positive=True),
            help="Longest one attempt may take, in seconds, however steadily "
            "bytes trickle in  [default: 10 x --timeout, at least 60].",
        ),
        click.option(
            "--host-failures",
            type=Whole(lowest=0, highest=1_000_000),
            default=3,
            show_default=True,
            help="After this many URLs of one host in a row fail to connect "
            "(retries spent), its other URLs are not tried; 0 never gives up.",
        ),
        click.option(
            "--max-size",
            type=Whole(lowest=1, highest=1 << 40),
            default=100 * 1024 * 1024,
            show_default=True,
            help="Longest body kept, in bytes; longer ones are cut and marked.",
        ),
        click.option(
            "--proxy",
            metavar="URL",
            help="Send all traffic through this HTTP proxy (CONNECT for https).",
        ),
        click.option(
            "--ca-bundle",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Extra CA certificates (PEM) to trust, e.g. a proxy's.",
        ),
        click.option(
            "--user-agent",
            type=Text(ascii_only=True),
            help="User-Agent header to send.",
        ),
        click.option(
            "--allow-private",
            is_flag=True,
            help="Fetch loopback, private and other non-public addresses too.",
        ),
        click.option(
            "--allow-private-host",
            "private_allowed",
            metavar="HOST[:PORT]",
            type=HostPort(),
            multiple=True,
            help="Fetch this one non-public host (or host and port) even without "
            "--allow-private, e.g. an intranet mirror (repeatable).",
        ),
    ]
    return grouped("fetching", FetchChoices, options)(func)


def unwrap_option(func: F) -> F:
    """``--unwrap HOST=PARAM``: one more wrapper whose original URL is kept too."""
    return click.option(
        "--unwrap",
        "unwrap_specs",
        metavar="HOST=PARAM",
        multiple=True,
        help="Also keep the URL wrapped in query parameter PARAM of links to "
        "HOST (repeatable; images.weserv.nl=url is built in).",
    )(func)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunChoices:
    """The values of :func:`run_options` (its browser options aside)."""

    deadline: float | None
    probe: bool
    canaries: tuple[str, ...]
    unwrap_specs: tuple[str, ...]
    operator: str | None
    requisites: bool
    max_requisites: int
    max_requisite_bytes: int


def run_options(func: F) -> F:
    """Options of every command that runs an archiving pass (besides fetching).

    Passed as ``running`` (a :class:`RunChoices`) and ``browsing`` (the
    browser stage's settings, already checked).
    """
    options = [
        click.option(
            "--deadline",
            type=seconds(most=30 * DAY, positive=True),
            metavar="SECONDS",
            help="Stop fetching after this long; what is left is marked 'deadline'.",
        ),
        click.option(
            "--probe/--no-probe",
            default=True,
            show_default=True,
            help="Ask each host once for a made-up path, to tell soft 404s and "
            "parked domains from live pages.",
        ),
        click.option(
            "--canary",
            "canaries",
            metavar="URL",
            type=WebURL(),
            multiple=True,
            help="When every link fails at the network level, the run is called "
            "offline unless one of these answers (repeatable; default: a few "
            "well-known sites).",
        ),
        unwrap_option,
        click.option(
            "--operator",
            type=Text(),
            help="Who runs the archive; written into each WARC.",
        ),
        click.option(
            "--requisites/--no-requisites",
            default=True,
            show_default=True,
            help="Also archive what each page found alive needs to show: "
            "stylesheets, fonts, images, scripts, frames.",
        ),
        click.option(
            "--max-requisites",
            type=click.IntRange(min=0),
            default=DEFAULT_MAX_PER_PAGE,
            show_default=True,
            help="Requisites fetched for one page at most (its stylesheets' "
            "and frames' included).",
        ),
        click.option(
            "--max-requisite-bytes",
            type=click.IntRange(min=0),
            default=DEFAULT_MAX_BYTES_PER_PAGE,
            show_default=True,
            help="Once one page's requisites come to this many bytes, no more "
            "are fetched for it.",
        ),
    ]
    return grouped("running", RunChoices, options)(browser_options(func))


def grouped(
    name: str, build: Callable[..., object], options: Sequence[Option]
) -> Callable[[F], F]:
    """Stack ``options`` on a command and hand it their values as one typed value.

    ``build`` takes exactly the options' values as keyword arguments (a frozen
    dataclass whose fields are the options' names, or a function that checks
    them); the command receives its result as the parameter ``name``, so no
    command body reads options out of an untyped mapping.
    """
    keys = tuple(inspect.signature(build).parameters)

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def command(*args: object, **values: object) -> object:
            chosen = {key: values.pop(key) for key in keys}
            return func(*args, **values, **{name: build(**chosen)})

        wrapped: Callable[..., object] = command
        for option in reversed(options):
            wrapped = option(wrapped)
        return cast("F", wrapped)

    return decorate


def preserve_settings(
    inputs: tuple[Path, ...],
    out: Path,
    fetching: FetchChoices,
    running: RunChoices,
    browsing: BrowserSettings,
) -> PreserveSettings:
    """The one settings tree of a run, from the values of its option groups.

    Built once per command; each part checks itself where it is defined
    (a proxy or CA bundle no client could use is refused by ClientSettings),
    so a library caller building PreserveSettings gets the same checks.
    """
    # Imported here, not at the top: ``archiver --help`` must not pay for the
    # network stack (see the README's Performance section).
    from archiver.crawl.client import ClientSettings
    from archiver.crawl.fetch import FetchSettings
    from archiver.crawl.politeness import Politeness
    from archiver.crawl.retry import RetryPolicy
    from archiver.run.offline import DEFAULT_CANARIES
    from archiver.run.preserve import PreserveSettings, default_user_agent
    from archiver.run.requisites import RequisiteSettings
    from archiver.warc.writer import WarcSettings

    return PreserveSettings(
        inputs=inputs,
        out=out,
        fetch=FetchSettings(
            timeout=fetching.timeout,
            max_time=fetching.max_time,
            host_failures=fetching.host_failures,
            max_size=fetching.max_size,
            allow_private=fetching.allow_private,
            private_allowed=tuple(h.lower() for h in fetching.private_allowed),
            proxied=fetching.proxy is not None,
            retry=RetryPolicy(
                attempts=fetching.retries,
                base=fetching.retry_base,
                retry_after_cap=fetching.retry_after_cap,
            ),
        ),
        politeness=Politeness(
            concurrency=fetching.concurrency,
            per_host=fetching.per_host,
            delay=fetching.delay,
        ),
        client=ClientSettings(
            user_agent=fetching.user_agent or default_user_agent(),
            proxy=fetching.proxy,
            ca_bundle=fetching.ca_bundle,
        ),
        warc=WarcSettings(operator=running.operator),
        deadline=running.deadline,
        probe=running.probe,
        canaries=running.canaries or DEFAULT_CANARIES,
        command=shlex.join(["archiver", *map(_without_password, sys.argv[1:])]),
        requisites=RequisiteSettings(
            enabled=running.requisites,
            max_per_page=running.max_requisites,
            max_bytes_per_page=running.max_requisite_bytes,
        ),
        browser=browsing,
    )


def _without_password(arg: str) -> str:
    """A command-line word as the warcinfo records and the store keep it.

    A ``--store postgresql://user:password@host/db`` is written down with
    ``***`` for the password: the command is evidence, the password is not.
    """
    option, equals, value = arg.partition("=")
    if equals and option.startswith("--") and value.lower().startswith(SCHEMES):
        return f"{option}={masked(value)}"
    return masked(arg) if arg.lower().startswith(SCHEMES) else arg


log_format_option = click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "plain"]),
    default="auto",
    show_default=True,
    help="One line per event; auto: a progress bar on a terminal, JSON otherwise.",
)


def lease_option(help_text: str) -> Callable[[F], F]:
    """``--lease SECONDS``: how long a host stays a worker's without a heartbeat."""
    return click.option(
        "--lease",
        type=Finite(lowest=0.5, highest=86400),
        default=60.0,  # run.sharing.DEFAULT_LEASE (not imported: start-up)
        show_default=True,
        metavar="SECONDS",
        help=help_text,
    )


def nightly_config(
    *keep: str,
) -> Callable[[click.Context, click.Parameter, Path | None], Path | None]:
    """A ``--config`` callback for the commands beside nightly.

    archiver.toml is nightly's file, and the worker, report, fix and status
    commands read the same one: each takes the settings it shares with
    nightly (only those named in ``keep``, when given: report's ``--out`` is
    a report file, not nightly's root) and passes over nightly's others
    (``alive-every``, ...). A key neither command knows is still an error.
    A worker started by nightly (``--from-parent``) reads none: its
    settings come whole from nightly.
    """

    def load(
        ctx: click.Context, param: click.Parameter, value: Path | None
    ) -> Path | None:
        from archiver.cli.nightly import nightly_cmd

        if ctx.params.get("from_parent"):
            return None
        path = value if value is not None else config.DEFAULT_CONFIG
        own = config.settings_of(ctx.command.params)
        if keep:
            wanted = {name.replace("-", "_") for name in keep}
            own = {key: found for key, found in own.items() if found.name in wanted}
        allowed = {**config.settings_of(nightly_cmd.params), **own}
        settings = config.load(path, allowed, required=value is not None)
        names = {setting.name for setting in own.values()}
        mine = {name: given for name, given in settings.items() if name in names}
        ctx.default_map = {**(ctx.default_map or {}), **mine}
        return path if mine else None

    return load


def config_option(
    callback: Callable[[click.Context, click.Parameter, Path | None], Path | None],
) -> Callable[[F], F]:
    """``--config FILE``: archiver.toml, read through ``callback``."""
    return click.option(
        "--config",
        type=click.Path(dir_okay=False, path_type=Path),
        is_eager=True,
        expose_value=False,
        callback=callback,
        help="Settings file (nightly's: only the keys this command shares).  "
        "[default: archiver.toml, if present]",
    )


def load_config(
    ctx: click.Context, param: click.Parameter, value: Path | None
) -> Path | None:
    """Make archiver.toml's settings the command's defaults (flags still win)."""
    path = value if value is not None else config.DEFAULT_CONFIG
    allowed = config.settings_of(ctx.command.params)
    settings = config.load(path, allowed, required=value is not None)
    ctx.default_map = {**(ctx.default_map or {}), **settings}
    return path if settings else None


def parse_time(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def split_arguments(
    arguments: tuple[str, ...],
) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    """Article paths and URLs given on the command line; seeds/ when none.

    A URL argument is the user's own request, so one that cannot be fetched
    (another scheme, no host, a broken address) is a usage error, not a line
    in the manifest.
    """
    if not arguments:
        return (DEFAULT_INPUT,), ()
    urls = tuple(check_url_argument(a) for a in arguments if _SCHEME.match(a))
    paths = tuple(Path(a) for a in arguments if not _SCHEME.match(a))
    return paths, urls


def check_url_argument(url: str) -> str:
    """``url`` if it can be fetched, else a UsageError saying why."""
    if not _URL_ARGUMENT.match(url):
        scheme = url.split(":", 1)[0]
        raise UsageError(
            f"{url}: {scheme}: URLs cannot be preserved; give http:// or "
            "https:// URLs, article files or folders"
        )
    try:
        host = urlsplit(url).hostname
    except ValueError as exc:
        raise UsageError(f"{url}: not a valid URL: {exc}") from None
    if not host:
        raise UsageError(f"{url}: not a valid URL: it names no host")
    return url


def check_inputs(paths: tuple[Path, ...], *, urls: tuple[str, ...] = ()) -> str | None:
    """Check the article paths before anything is written; say if none has articles.

    A path that does not exist is a UsageError. When the paths hold no article
    file (and no URL was given) the message is returned: ``preserve`` raises
    it, ``nightly`` (whose folder may fill up later) prints it as a warning.
    """
    from archiver.articles.seeds import ARTICLE_SUFFIXES, discover

    if discover(paths) or urls:
        return None
    where = ", ".join(str(p) for p in paths)
    kinds = " ".join(sorted(ARTICLE_SUFFIXES))
    return f"{where}: no article files found (looked for {kinds})"


def wrapper_rules(specs: tuple[str, ...]) -> tuple[WrapperRule, ...]:
    return (*DEFAULT_RULES, *(parse_rule(spec) for spec in specs))
