"""The URL Standard's own test data, run through our parse and resolve.

``tests/data/wpt-url/urltestdata.json`` is the web-platform-tests file every
browser runs (see the README beside it). We fetch only ``http:`` and
``https:``, so the cases that apply are those that resolve to one, and the
failures whose input would: a failure must come back ``invalid``, a success as
the standard's ``href``, less the fragment and with escapes spelled as RFC 3986
makes equivalent. Where we refuse what the standard accepts, the test checks
that the refusal is one of the rules ``archiver/urls.py`` gives, and that the
rule's condition holds for that case.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

import idna
import pytest

from archiver.models import Outcome, Rejection
from archiver.urls import normalise, resolve

DATA = Path(__file__).parents[1] / "data" / "wpt-url" / "urltestdata.json"
CASES: list[dict[str, Any]] = [
    case
    for case in json.loads(DATA.read_text(encoding="utf-8"))
    if isinstance(case, dict)  # the strings are comments
]
_UNRESERVED = set(string.ascii_letters + string.digits + "-._~")
_C0_OR_SPACE = "".join(map(chr, range(0x21)))
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def _id(case: dict[str, Any]) -> str:
    return f"{case['input']!r} against {case['base']!r}"


def rfc3986_equivalent(url: str) -> str:
    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else match.group(0).upper()

    return re.sub(r"%([0-9a-fA-F]{2})", one, url)


def would_be_fetched(case: dict[str, Any]) -> bool:
    """A failing input that names http(s), or is relative to an http(s) base."""
    text = case["input"].strip(_C0_OR_SPACE)
    scheme = _SCHEME.match(text)
    if scheme is not None:
        return scheme.group(1).lower() in ("http", "https")
    base = case["base"]
    return base is None or bool(re.match(r"(?i)https?:", base))


ACCEPTED = [
    c
    for c in CASES
    if not c.get("failure") and c["href"].startswith(("http:", "https:"))
]
REFUSED = [c for c in CASES if c.get("failure") and would_be_fetched(c)]


def test_the_data_is_the_standards():
    # A truncated or wrong file would make every test below vacuous.
    assert len(CASES) > 800
    assert len(ACCEPTED) > 200
    assert len(REFUSED) > 150


def not_a_dns_name(host: str) -> bool:
    labels = host.removesuffix(".").split(".")
    return any(not re.fullmatch(r"[a-z0-9_-]{1,63}", label) for label in labels)


def refused_by_idna2008(host: str) -> bool:
    """A punycode label the HTTP client's IDNA 2008 check refuses (emoji, ☃)."""
    for label in host.split("."):
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except idna.IDNAError:
                return True
    return False


@pytest.mark.parametrize("case", ACCEPTED, ids=_id)
def test_what_the_standard_accepts(case):
    result = normalise(case["input"], case["base"])
    if isinstance(result, str):
        assert result == rfc3986_equivalent(case["href"].partition("#")[0])
        return
    # Our own refusals, each only where its condition holds.
    sent = case["input"].strip(_C0_OR_SPACE).partition("#")[0]
    conditions = {
        "empty-url": not case["input"].strip(_C0_OR_SPACE),
        "invalid-port": case["port"] == "0",
        "invalid-host": not_a_dns_name(case["hostname"])
        or refused_by_idna2008(case["hostname"]),
        "control-character": bool(re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", sent)),
    }
    assert conditions.get(result.reason), (result, case["href"])


@pytest.mark.parametrize("case", REFUSED, ids=_id)
def test_what_the_standard_refuses_is_invalid(case):
    result = normalise(case["input"], case["base"])
    assert isinstance(result, Rejection), result
    assert result.outcome is Outcome.INVALID


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_resolve_is_the_standards_parse(case):
    # Every scheme: resolve() reads <base href> and wrappers' inner URLs.
    expected = None if case.get("failure") else case["href"]
    assert resolve(case["input"], case["base"]) == expected
