"""``archiver extract``: every link the articles cite, as JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import click

from archiver.cli.options import CONTEXT_SETTINGS, unwrap_option, wrapper_rules
from archiver.models import FoundLink, Rejection
from archiver.urls import normalise


@click.command("extract", context_settings=CONTEXT_SETTINGS)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@unwrap_option
def extract_cmd(paths: tuple[Path, ...], unwrap_specs: tuple[str, ...]) -> None:
    """Print every link found in the articles as JSON lines; fetch nothing.

    One line per link as cited (a URL cited twice is printed twice): the
    normalised URL (or, when it cannot be fetched, the URL as written with the
    outcome and reason), the URL as written, kind, article, where it was found
    and its anchor or alt text.

    Example:

        archiver extract seeds/ | jq -r .url | sort -u
    """
    from archiver.articles import extract, seeds

    rules = wrapper_rules(unwrap_specs)

    def skip(message: str) -> None:
        click.echo(f"archiver: skipped article: {message}", err=True)

    for article in seeds.read_all(paths, skip):
        for link in extract.links(article, rules):
            click.echo(json.dumps(_extract_record(link), ensure_ascii=False))


def _extract_record(link: FoundLink) -> dict[str, object]:
    citation = link.citation
    url = normalise(link.raw, link.base)
    record: dict[str, object] = {
        "url": url if isinstance(url, str) else link.raw.strip(),
        "raw": link.raw,
        "kind": str(citation.kind),
        "article": citation.article,
        "element": citation.element,
        "attribute": citation.attribute,
        "text": citation.text,
        "title": citation.title,
        "wrapped_by": citation.wrapped_by,
    }
    if isinstance(url, Rejection):
        record["outcome"] = str(url.outcome)
        record["reason"] = url.reason
    return record
