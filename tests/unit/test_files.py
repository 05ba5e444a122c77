"""A replaced file is the old one or the new one, never half of either."""

from __future__ import annotations

import pytest

from archiver.files import replace_text, replacing


def test_the_new_content_replaces_the_old_whole(tmp_path):
    target = tmp_path / "index.cdxj"
    target.write_text("old\n")
    replace_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["index.cdxj"]


@pytest.mark.parametrize(
    "stop", [OSError(28, "No space left on device"), KeyboardInterrupt()]
)
def test_a_write_stopped_half_way_leaves_the_old_file_and_no_temporary(tmp_path, stop):
    target = tmp_path / "manifest.jsonl"
    target.write_text("the old manifest\n")

    def write_half() -> None:
        with replacing(target) as out:
            out.write("half of the new")
            raise stop

    with pytest.raises(type(stop)):
        write_half()
    assert target.read_text() == "the old manifest\n"
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.jsonl"]


def test_a_missing_folder_is_an_oserror_for_the_caller_to_name(tmp_path):
    with pytest.raises(FileNotFoundError):
        replace_text(tmp_path / "no-such-folder" / "report.html", "x")
