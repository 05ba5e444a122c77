"""Wrapper URLs: image proxies and redirectors that carry the real URL inside.

``https://images.weserv.nl/?url=static01.nyt.com/a.jpg`` shows an image that
lives at ``https://static01.nyt.com/a.jpg``. Both are worth keeping: the
wrapper is what the article shows, the original outlives the proxy. Each kind
of wrapper is one :class:`WrapperRule`, so a new redirector is one table entry
(or one ``--unwrap HOST=PARAM`` option), not new code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from archiver.errors import UsageError


@dataclass(frozen=True, slots=True, kw_only=True)
class WrapperRule:
    """URLs on ``host`` carry the wrapped URL in query parameter ``param``."""

    host: str
    param: str
    # The value may lack a scheme (weserv writes ``host/path``): use this one.
    default_scheme: str = "https"


_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")

DEFAULT_RULES: tuple[WrapperRule, ...] = (
    WrapperRule(host="images.weserv.nl", param="url"),
    WrapperRule(host="wsrv.nl", param="url"),  # weserv's newer name
)


def parse_rule(spec: str) -> WrapperRule:
    """Read ``HOST=PARAM`` as given to ``--unwrap``."""
    host, sep, param = spec.partition("=")
    if not sep or not host.strip() or not param.strip() or "/" in host:
        raise UsageError(f"--unwrap {spec}: expected HOST=PARAM, e.g. l.example.com=u")
    return WrapperRule(host=host.strip().lower(), param=param.strip())


def unwrap(url: str, rules: Iterable[WrapperRule] = DEFAULT_RULES) -> tuple[str, ...]:
    """The URLs wrapped inside an absolute ``url``, as written (not normalised)."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return ()
    if not parts.query:
        return ()
    params = parse_qsl(parts.query, keep_blank_values=False)
    found: list[str] = []
    for rule in rules:
        if rule.host != host:
            continue
        for name, value in params:
            if name == rule.param:
                found.append(_with_scheme(value.strip(), rule.default_scheme))
    return tuple(dict.fromkeys(v for v in found if v))


def _with_scheme(value: str, scheme: str) -> str:
    if value.startswith("ssl:"):  # weserv's spelling of https
        return "https://" + value[4:]
    if value.startswith("//"):
        return f"{scheme}:{value}"
    if _HAS_SCHEME.match(value):
        return value
    return f"{scheme}://{value}"
