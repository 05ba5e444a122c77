"""Wrapper URLs: image proxies, redirectors and archives that carry the real URL inside.

``https://images.weserv.nl/?url=static01.nyt.com/a.jpg`` shows an image that
lives at ``https://static01.nyt.com/a.jpg``. Both are worth keeping: the
wrapper is what the article shows, the original outlives the proxy. Each kind
of wrapper is one rule, so a new one is one table entry, not new code. There
are two forms:

- :class:`QueryWrapper`: the original is a query parameter (weserv's ``url=``,
  a redirector's ``u=``); ``--unwrap HOST=PARAM`` adds one.
- :class:`PathWrapper`: the original is the rest of the path (thumbor's
  ``/unsafe/1340x754/https://...``, Jetpack Photon's ``i0.wp.com/host/path``,
  the Wayback Machine's ``/web/<timestamp>/<url>``), which a parameter name
  cannot say.

A wrapped URL is returned as the wrapper spells it; :mod:`archiver.articles.plan`
normalises it like any other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from ada_url import URL

from archiver.errors import UsageError
from archiver.urls import percent_decode, resolve

_MAX_DEPTH: Final = 3  # a proxy of an archive of a proxy is the deepest seen


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryWrapper:
    """URLs on ``host`` carry the wrapped URL in query parameter ``param``.

    The parameter's name matches in any case (weserv reads ``URL=`` too), and
    its value is percent-decoded once with ``+`` kept: in a URL a ``+`` is
    itself, and weserv fetches ``a+b.jpg``, not ``a b.jpg``.
    """

    host: str
    param: str
    # The value may lack a scheme (weserv writes ``host/path``): use this one.
    default_scheme: str = "https"

    @property
    def marker(self) -> str:
        """A substring every URL this rule unwraps contains (a cheap first test)."""
        return self.host


@dataclass(frozen=True, slots=True, kw_only=True)
class PathWrapper:
    """URLs whose path, after a prefix, is the wrapped URL.

    ``pattern`` is matched against the wrapper's path; its group ``url`` is
    the wrapped URL, which must look like one (a scheme, or a host with a dot
    first), since the prefix alone may be any site's path. ``query`` says
    whether the wrapper's query belongs to the wrapped URL (an archive's) or
    is the wrapper's own options (an image resizer's).
    """

    name: str
    hosts: frozenset[str]  # empty: any host (thumbor is run by many sites)
    pattern: re.Pattern[str]
    marker: str
    query: Literal["wrapped", "own"]
    default_scheme: str = "https"
    # Photon fetches the original over http unless told ``ssl=1``.
    https_param: str | None = None


WrapperRule = QueryWrapper | PathWrapper
"""Either form of rule; :func:`unwrap` takes any mix of them."""

_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:/")  # "host:8080/" has none
_ENCODED_SCHEME = re.compile(r"(?i)https?%3A")
# thumbor's options, in its URL order: /unsafe/[trim/][AxB:CxD/][fit-in/]
# [-]Ex[-]F/[halign/][valign/][smart/][filters:.../]IMAGE
_THUMBOR_OPTION = (
    r"(?:trim(?::[^/]*)?|\d+x\d+:\d+x\d+|(?:adaptive-|full-)?fit-in|-?\d*x-?\d*"
    r"|left|right|center|top|middle|bottom|smart|filters:[^/]*)"
)

DEFAULT_RULES: tuple[WrapperRule, ...] = (
    QueryWrapper(host="images.weserv.nl", param="url"),
    QueryWrapper(host="wsrv.nl", param="url"),  # weserv's newer name
    PathWrapper(
        name="thumbor",
        hosts=frozenset(),
        pattern=re.compile(rf"/unsafe/(?:{_THUMBOR_OPTION}/)*(?P<url>.+)"),
        marker="/unsafe/",
        query="wrapped",
    ),
    PathWrapper(
        name="photon",
        hosts=frozenset({"i0.wp.com", "i1.wp.com", "i2.wp.com", "i3.wp.com"}),
        pattern=re.compile(r"/(?P<url>[^/]+\.[^/]+/.+)"),
        marker=".wp.com/",
        query="own",
        default_scheme="http",
        https_param="ssl",
    ),
    PathWrapper(
        name="wayback",
        hosts=frozenset({"web.archive.org"}),
        pattern=re.compile(r"/web/(?:\d{0,14}\*?|\*)(?:[a-z]{2}_)?/(?P<url>.+)"),
        marker="web.archive.org/web/",
        query="wrapped",
        default_scheme="http",  # the Wayback Machine's reading of "host/path"
    ),
)


def parse_rule(spec: str) -> QueryWrapper:
    """Read ``HOST=PARAM`` as given to ``--unwrap``."""
    host, sep, param = spec.partition("=")
    if not sep or not host.strip() or not param.strip() or "/" in host:
        raise UsageError(f"--unwrap {spec}: expected HOST=PARAM, e.g. l.example.com=u")
    return QueryWrapper(host=host.strip().lower(), param=param.strip())


def unwrap(url: str, rules: Iterable[WrapperRule] = DEFAULT_RULES) -> tuple[str, ...]:
    """The URLs wrapped inside an absolute ``url``, outermost first, each once.

    A wrapped URL that is itself a wrapper is unwrapped too (a few levels
    deep), so the original behind a proxy of an archive is found.
    """
    rules = tuple(rules)
    found: dict[str, None] = {}
    todo = [(url, 0)]
    while todo:
        current, depth = todo.pop(0)
        for inner in _unwrap_once(current, rules):
            if inner not in found and inner != url:
                found[inner] = None
                if depth + 1 < _MAX_DEPTH:
                    todo.append((inner, depth + 1))
    return tuple(found)


def _unwrap_once(url: str, rules: tuple[WrapperRule, ...]) -> list[str]:
    try:
        parsed = URL(url.strip())
    except ValueError:
        return []
    if parsed.protocol not in ("http:", "https:"):
        return []
    host = parsed.hostname
    found: list[str] = []
    for rule in rules:
        if isinstance(rule, QueryWrapper):
            if rule.host == host:
                found += _from_query(parsed.search, rule)
        elif not rule.hosts or host in rule.hosts:
            inner = _from_path(parsed, rule)
            if inner is not None:
                found.append(inner)
    return found


def _from_query(search: str, rule: QueryWrapper) -> list[str]:
    wanted = rule.param.lower()
    values = []
    for name, value in _query_pairs(search):
        if name.lower() == wanted and value.strip():
            values.append(_with_scheme(value.strip(), rule.default_scheme))
    return values


def _from_path(parsed: URL, rule: PathWrapper) -> str | None:
    match = rule.pattern.fullmatch(parsed.pathname)
    if match is None:
        return None
    inner = match.group("url")
    if _ENCODED_SCHEME.match(inner):  # the whole URL escaped into one segment
        inner = percent_decode(inner)
    scheme = rule.default_scheme
    if rule.https_param is not None:
        pairs = dict(_query_pairs(parsed.search))
        if pairs.get(rule.https_param) == "1":
            scheme = "https"
    if rule.query == "wrapped":
        inner += parsed.search
    candidate = _with_scheme(inner, scheme)
    return candidate if _looks_like_a_url(candidate) else None


def _query_pairs(search: str) -> list[tuple[str, str]]:
    """A query's ``name=value`` pairs, percent-decoded, ``+`` kept as ``+``."""
    pairs = []
    for part in search.removeprefix("?").split("&"):
        name, _, value = part.partition("=")
        if name:
            pairs.append((percent_decode(name), percent_decode(value)))
    return pairs


def _with_scheme(value: str, scheme: str) -> str:
    if value[:4].lower() == "ssl:":  # weserv's spelling of https
        return "https://" + value[4:]
    if value.startswith("//"):
        return f"{scheme}:{value}"
    if _HAS_SCHEME.match(value):
        return value
    return f"{scheme}://{value}"


def _looks_like_a_url(candidate: str) -> bool:
    """An http(s) URL whose host has a dot: not thumbor's ``picture/9/x.jpg``."""
    href = resolve(candidate)
    if href is None or not href.startswith(("http:", "https:")):
        return False
    return "." in URL(href).hostname
