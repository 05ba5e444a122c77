"""The link-format parser on what archives really send, and on what they get wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, strategies as st

from archiver.crawl.linkformat import (
    LinkFormatError,
    format_http_date,
    http_date,
    parse,
)

# A TimeMap as the Wayback Machine writes one (line breaks between entries,
# commas inside the quoted dates, two relation types in one rel).
TIMEMAP = """<http://example.com/>; rel="original",
<https://web.archive.org/web/timemap/link/http://example.com/>; rel="self"; type="application/link-format"; from="Sat, 20 Jul 2002 14:36:02 GMT",
<https://web.archive.org/web/http://example.com/>; rel="timegate",
<https://web.archive.org/web/20020720143602/http://example.com/>; rel="first memento"; datetime="Sat, 20 Jul 2002 14:36:02 GMT",
<https://web.archive.org/web/20021013065102/http://example.com/>; rel="memento"; datetime="Sun, 13 Oct 2002 06:51:02 GMT",
<https://web.archive.org/web/20240101000000/http://example.com/>; rel="last memento"; datetime="Mon, 01 Jan 2024 00:00:00 GMT"
"""  # noqa: E501


def test_a_wayback_timemap():
    links = parse(TIMEMAP)
    assert len(links) == 6
    assert links[0].target == "http://example.com/"
    assert links[0].rels == {"original"}
    assert links[1].param("type") == "application/link-format"
    mementos = [link for link in links if "memento" in link.rels]
    assert [http_date(m.param("datetime")) for m in mementos] == [
        datetime(2002, 7, 20, 14, 36, 2, tzinfo=UTC),
        datetime(2002, 10, 13, 6, 51, 2, tzinfo=UTC),
        datetime(2024, 1, 1, tzinfo=UTC),
    ]
    assert mementos[0].rels == {"first", "memento"}


def test_quoted_values_hold_commas_semicolons_and_escapes():
    (link,) = parse(r'<a>; title="x, y; z \"q\""; rel=next')
    assert link.param("title") == 'x, y; z "q"'
    assert link.param("rel") == "next"


def test_names_are_case_insensitive_and_the_first_rel_counts():
    (link,) = parse('<a>; REL="Memento"; rel="other"')
    assert link.rels == {"memento"}


def test_relative_targets_resolve_against_the_document():
    (link,) = parse('</web/2020/http://x/>; rel="memento"', "https://arch.example/tm/x")
    assert link.target == "https://arch.example/web/2020/http://x/"


def test_empty_elements_and_whitespace_between_links():
    assert [link.target for link in parse(" ,\n<a> , ,\t<b>;rel=x,\r\n")] == ["a", "b"]
    assert parse("") == ()


@pytest.mark.parametrize(
    "text",
    [
        "http://a/; rel=original",  # no angle brackets
        '<http://a/; rel="original"',  # never closed
        "<http://a/> rel=original",  # no semicolon
        '<http://a/>; rel="original',  # quoted value never closed
        "<http://a/>; =x",  # no parameter name
        "<http://a/>; rel=",  # no value
        "<http://a/ b>; rel=x",  # a space inside the target
        "<a> <b>",  # no comma between links
    ],
)
def test_malformed_text_is_an_error_not_a_guess(text):
    with pytest.raises(LinkFormatError):
        parse(text)


def test_a_cut_timemap_drops_its_last_piece_and_keeps_the_rest():
    whole = parse(TIMEMAP)
    for end in range(len(TIMEMAP)):
        part = parse(TIMEMAP[:end], cut=True)
        # Only whole entries, each exactly as in the full parse.
        assert part == whole[: len(part)]
    cut_in_date = TIMEMAP[: TIMEMAP.index("Oct 2002")]
    assert len(parse(cut_in_date, cut=True)) == 4


def test_a_cut_document_is_still_malformed_before_the_cut():
    with pytest.raises(LinkFormatError):
        parse('<a>; rel=x <b>; rel="y", <c>; rel="z', cut=True)


def test_dates_read_and_written_as_rfc_7089_says():
    when = datetime(2015, 6, 1, 12, 30, tzinfo=UTC)
    assert format_http_date(when) == "Mon, 01 Jun 2015 12:30:00 GMT"
    assert http_date(format_http_date(when)) == when
    assert http_date("not a date") is None
    assert http_date(None) is None


@given(
    st.lists(
        st.tuples(
            st.text(st.characters(blacklist_characters='<> \t\r\n"\\'), min_size=1),
            st.text(),
        ),
        max_size=5,
    )
)
def test_any_quoted_value_comes_back_as_written(pairs):
    text = ", ".join(
        f'<{target}>; title="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'  # noqa: E501
        for target, value in pairs
    )
    links = parse(text)
    assert [(link.target, link.param("title")) for link in links] == pairs
