"""The run's statuses kept on disk: read back whole, in order, and counted."""

from __future__ import annotations

import datetime

import pytest

from archiver.errors import ArchiveWriteError
from archiver.models import (
    Capture,
    Citation,
    LinkKind,
    LinkStatus,
    Outcome,
    RecordRef,
    RequisiteCounts,
)
from archiver.run.statuses import StatusFile
from archiver.warc.captures import Captures

WHEN = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.UTC)


def status(
    url: str, outcome: Outcome = Outcome.ALIVE, reason: str = "ok"
) -> LinkStatus:
    return LinkStatus(
        url=url,
        kind=LinkKind.LINK,
        citations=(
            Citation(article="a.md", kind=LinkKind.LINK, element="a", attribute="href"),
        ),
        outcome=outcome,
        reason=reason,
        detail="answered 200",
        http_status=200,
        chain=(url,),
        record=RecordRef(
            warc_file="x.warc.gz",
            offset=12,
            payload_digest="sha1:ABC",
            revisit_of=Capture(uri=url, date="2026-12-01T00:00:00Z"),
        ),
        checked=WHEN,
    )


def test_statuses_come_back_whole_in_order_and_by_url(tmp_path):
    kept = StatusFile(tmp_path)
    given = [status("https://b.example/"), status("https://a.example/")]
    given.append(status("https://c.example/", Outcome.DEAD, "http-404"))
    kept.extend(given)
    assert list(kept) == given
    assert (kept[0], kept[-1], kept[1:]) == (given[0], given[2], given[1:])
    assert [s.url for s in kept.by_url()] == sorted(s.url for s in given)
    assert list(tmp_path.iterdir()) == []  # nothing a reader of the folder sees
    with pytest.raises(IndexError):
        kept[3]
    kept.close()


def test_counts_need_no_read_and_requisites_are_attached_on_the_way_out(tmp_path):
    kept = StatusFile(tmp_path)
    kept.extend([status("https://a.example/1"), status("https://a.example/2")])
    kept.append(status("https://a.example/3", Outcome.DEAD, "http-404"))
    kept.append(status("https://a.example/4", Outcome.DEAD, "dns-not-found"))
    kept.append(status("https://a.example/5", Outcome.DEAD, "dns-not-found"))
    assert (kept.count(Outcome.ALIVE), kept.count(Outcome.ERROR)) == (2, 0)
    assert kept.by_reason(Outcome.DEAD) == {"dns-not-found": 2, "http-404": 1}
    counts = RequisiteCounts(found=3, archived=2, failed=1, not_fetched=0)
    kept.amend({"https://a.example/2": counts})
    assert [s.requisites for s in kept][:3] == [None, counts, None]
    picked = kept.pick(["https://a.example/2", "https://nowhere.example/"])
    assert list(picked) == ["https://a.example/2"]
    kept.close()


def test_a_folder_that_cannot_hold_them_is_a_write_error(tmp_path):
    with pytest.raises(ArchiveWriteError, match="cannot keep the run's statuses"):
        StatusFile(tmp_path / "missing")


def test_the_first_capture_of_a_digest_is_kept_unless_replaced():
    captures = Captures()
    first = Capture(
        uri="https://a.example/", date="2026-12-01T00:00:00Z", record_id="<1>"
    )
    later = Capture(uri="https://b.example/", date="2026-12-02T00:00:00Z")
    assert captures.get("sha1:X") is None
    captures.put("sha1:X", first, replace=False)
    captures.put("sha1:X", later, replace=False)
    assert captures.get("sha1:X") == first
    captures.put("sha1:X", later)
    assert captures.get("sha1:X") == later
    captures.close()
