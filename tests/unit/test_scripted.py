"""The signals ``--browser auto`` reads from a plain capture (no network)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from archiver.crawl.scripted import needs_script
from archiver.models import (
    Citation,
    FetchResult,
    LinkKind,
    NormalizedURL,
    Suspicion,
    Target,
)
from tests.warcfiles import make_hop

HOSTS = ("x.com", "instagram.com")
ARTICLE_TEXT = "<p>" + "A paragraph of real article text that a reader reads. " * 10


def result(tmp_path, body: str, url: str = "https://news.example/a") -> FetchResult:
    hop = replace(
        make_hop(tmp_path, "page", body.encode()),
        url=url,
        response_headers=((b"Content-Type", b"text/html; charset=utf-8"),),
    )
    citation = Citation(
        article="a.md", kind=LinkKind.LINK, element="a", attribute="href"
    )
    return FetchResult(
        target=Target(url=NormalizedURL(url), citations=(citation,)),
        hops=(hop,),
        attempts=1,
        failure=None,
        finished=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            "<div id=app></div><noscript>Please enable JavaScript to view this "
            "site.</noscript>" + ARTICLE_TEXT,
            "noscript",
        ),
        ("<div id=root></div><script src=/app.js></script>", "only scripts"),
        ("<div id=root></div><script>" + "x=1;" * 400 + "</script>", "only scripts"),
    ],
)
def test_a_shell_is_sent_to_the_browser(tmp_path, body, why):
    found = needs_script(result(tmp_path, body), HOSTS)
    assert found is not None
    assert why in found


@pytest.mark.parametrize(
    "body",
    [
        ARTICLE_TEXT + "<script src=/analytics.js></script>",  # text and a script
        "<p>Short page.</p>",  # little text, but nothing that builds it
        "<noscript><img src=/pixel.gif></noscript>" + ARTICLE_TEXT,  # a tracker
    ],
)
def test_a_page_with_its_text_is_not(tmp_path, body):
    assert needs_script(result(tmp_path, body), HOSTS) is None


def test_a_script_only_host_and_its_subdomains_are(tmp_path):
    for url in ("https://x.com/a/status/1", "https://www.instagram.com/p/1"):
        assert needs_script(result(tmp_path, ARTICLE_TEXT, url), HOSTS)
    assert (
        needs_script(result(tmp_path, ARTICLE_TEXT, "https://notx.com/"), HOSTS) is None
    )


def test_same_as_missing_is(tmp_path):
    found = replace(
        result(tmp_path, ARTICLE_TEXT),
        suspicion=Suspicion(reason="same-as-missing", detail="alike"),
    )
    assert needs_script(found, HOSTS) is not None
