"""Crash repair of .open WARC files, and the run lock, on real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.errors import ArchiveWriteError, RunLocked
from archiver.run.lock import run_lock
from archiver.warc.repair import cut_after_unit, repair_file, repair_folder
from tests.warcfiles import write_open_file


def records(path: Path) -> list[str]:
    with path.open("rb") as stream:
        return [r.rec_type for r in ArchiveIterator(stream)]


@pytest.mark.parametrize("cut", [1, 10, 100])
def test_torn_tail_is_cut_back_to_the_last_whole_record(tmp_path, cut):
    path, _ = write_open_file(tmp_path, [5000, 5000, 5000])
    whole = path.read_bytes()
    path.write_bytes(whole[:-cut])  # the last member (a request record) is torn
    repair = repair_file(path)
    assert not repair.removed
    assert repair.path.name.endswith(".warc.gz")
    assert not path.exists()
    # warcinfo + 3 responses + 2 requests survive; the torn request is dropped
    assert records(repair.path) == ["warcinfo"] + ["response", "request"] * 2 + [
        "response"
    ]
    assert repair.records == 6
    assert repair.dropped_bytes > 0
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "from warcio.cli import main; main()",
            "check",
            str(repair.path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_cut_inside_a_response_keeps_the_records_before_it(tmp_path):
    path, offsets = write_open_file(tmp_path, [5000, 50000])
    path.write_bytes(path.read_bytes()[: offsets[1] + 200])
    repair = repair_file(path)
    assert records(repair.path) == ["warcinfo", "response", "request"]


def test_a_whole_file_is_kept_whole(tmp_path):
    path, _ = write_open_file(tmp_path, [100])
    size = path.stat().st_size
    (repair,) = repair_folder(tmp_path / "out")
    assert repair.dropped_bytes == 0
    assert repair.path.stat().st_size == size


def test_a_file_with_nothing_whole_is_removed(tmp_path):
    path, _ = write_open_file(tmp_path, [1])
    path.write_bytes(path.read_bytes()[:20])
    repair = repair_file(path)
    assert repair.removed
    assert not path.exists()


def test_garbage_after_records_is_dropped(tmp_path):
    path, _ = write_open_file(tmp_path, [10])
    whole = path.read_bytes()
    path.write_bytes(whole + b"\x00garbage that is not gzip")
    repair = repair_file(path)
    assert repair.path.read_bytes() == whole


def test_second_lock_holder_is_refused_and_the_lock_dies_with_its_process(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\n"
            "from archiver.run.lock import run_lock\n"
            "with run_lock(Path(sys.argv[1])):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLocked, match=f"pid {holder.pid}"), run_lock(tmp_path):
            pass
    finally:
        holder.kill()  # like kill -9: no clean-up code runs
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    with run_lock(tmp_path):
        pass  # the kernel released the dead process's lock


def test_cut_after_unit_keeps_that_fetch_and_drops_the_rest(tmp_path):
    path, offsets = write_open_file(tmp_path, [100, 200, 300])
    repair = repair_file(path)
    cut = cut_after_unit(repair.path, offsets[1])
    assert cut > 0
    assert records(repair.path) == ["warcinfo"] + ["response", "request"] * 2
    cut_after_unit(repair.path, None)
    assert records(repair.path) == ["warcinfo"]
    with pytest.raises(ArchiveWriteError, match="no record starts at offset 7"):
        cut_after_unit(repair.path, 7)


def test_a_closed_file_no_index_lists_is_verified_and_its_torn_tail_cut(tmp_path):
    """A file an older run renamed after a failed write: final name, torn tail."""
    path, _ = write_open_file(tmp_path, [1000, 1000])
    whole = repair_file(path).path
    good = whole.read_bytes()
    whole.write_bytes(good + b"\x1f\x8b\x08\x00 a record the disk had no room for")
    (repair,) = repair_folder(whole.parent)
    assert repair.path == whole
    assert repair.dropped_bytes > 0
    assert whole.read_bytes() == good
    assert "repaired" in repair.describe()
    assert repair_folder(whole.parent) == []  # whole now: nothing to do


def test_files_the_index_lists_are_not_read_again(tmp_path):
    path, _ = write_open_file(tmp_path, [1000])
    whole = repair_file(path).path
    (whole.parent / "index.cdxj").write_text(
        'com,example)/ 20260101000000 {"url": "https://example.com/", '
        f'"filename": "{whole.name}", "offset": 0}}\n'
    )
    torn = whole.read_bytes() + b"\x1f\x8b torn"
    whole.write_bytes(torn)  # listed: a finished run verified it
    assert repair_folder(whole.parent) == []
    assert whole.read_bytes() == torn
