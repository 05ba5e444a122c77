"""Package a run folder as one WACZ file that ReplayWeb.page and pywb open.

A WACZ is a ZIP holding the WARC files, a compressed CDXJ index, a page list
and a ``datapackage.json`` with a SHA-256 of every file: one file to hand
over, verifiable on its own. py-wacz builds it. It runs as a child process
of this same interpreter because importing it changes cdxj-indexer's default
record types for the whole process (see ``archiver.warc.index``) and it reports
progress on stdout; its exit code says whether it worked.

What goes in: every ``*.warc.gz`` of the folder; a page list with every link
the manifest says is alive (so a replay tool lists them, titled by the
article's title or the link's anchor text); ``manifest.jsonl`` and
``dead-links.csv`` under ``logs/``, so the package carries its own evidence
of what was checked and what was dead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from archiver.errors import ArchiveWriteError, UsageError
from archiver.run.manifest import DEAD_LINKS_NAME, MANIFEST_NAME

WACZ_SUFFIX: Final = ".wacz"

# py-wacz's console entry point, run by this interpreter. ``python -m wacz``
# would do, but it drops main()'s return value, so a failed run exits 0.
WACZ_COMMAND: Final = (
    sys.executable,
    "-c",
    "import sys; from wacz.main import main; sys.exit(main())",
)

PAGES_HEADER: Final = {"format": "json-pages-1.0", "id": "pages", "title": "Preserved"}


def package(
    run_dir: Path,
    out: Path | None = None,
    *,
    title: str | None = None,
    wacz_command: Sequence[str] = WACZ_COMMAND,
) -> Path:
    """Write the WACZ of ``run_dir``; return its path.

    Args:
        run_dir: a folder written by ``archiver preserve`` (``*.warc.gz``,
            ``manifest.jsonl``, ``dead-links.csv``), or the root of
            ``archiver nightly`` runs, whose run folders are packaged together
            (their manifests as ``logs/<run id>-manifest.jsonl``).
        out: where to write; default ``RUN_DIR/<folder name>.wacz``. An
            existing file is replaced only once the new one is complete.
        title: the package title; default the folder name.
        wacz_command: how to run py-wacz; another environment's ``wacz``
            executable may be given if py-wacz cannot share this one.

    Raises ``UsageError`` when the folder holds no WARC file and
    ``ArchiveWriteError`` when py-wacz fails.
    """
    folder = run_dir.resolve()
    if not folder.is_dir():
        raise UsageError(f"{run_dir}: no such folder")
    runs = _runs(folder)
    warcs = [path for run in runs for path in sorted(run.glob("*.warc.gz"))]
    if not warcs:
        raise UsageError(f"{run_dir}: no .warc.gz files to package")
    names = Counter(path.name for path in warcs)
    if clash := next((name for name, n in names.items() if n > 1), None):
        raise UsageError(f"{run_dir}: two runs hold a WARC named {clash}")
    target = (out or folder / (folder.name + WACZ_SUFFIX)).resolve()
    # Named for this process: a py-wacz orphaned by a killed run must never
    # be writing the file this run renames into place.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    _drop_stale(target)
    with tempfile.TemporaryDirectory(prefix="archiver-wacz-") as scratch:
        work = Path(scratch)
        logs = work / "logs"
        logs.mkdir()
        for run in runs:
            prefix = (
                "" if run == folder else "-".join(run.relative_to(folder).parts) + "-"
            )
            for name in (MANIFEST_NAME, DEAD_LINKS_NAME):
                # An empty log (a worker that had nothing to do) is left out:
                # py-wacz's validator cannot read one, so the package would fail.
                if (run / name).is_file() and (run / name).stat().st_size > 0:
                    shutil.copy2(run / name, logs / (prefix + name))
        args = [
            *wacz_command,
            "create",
            "--output",
            str(tmp),
            "--title",
            title or folder.name,
            "--log-directory",
            str(logs),
        ]
        pages = list(
            {
                page["url"]: page
                for run in runs
                for page in _pages(run / MANIFEST_NAME)
            }.values()
        )
        if pages:
            pages_file = work / "pages.jsonl"
            lines = [json.dumps(PAGES_HEADER), *map(json.dumps, pages)]
            pages_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
            args += ["--pages", str(pages_file)]
        args += [str(path) for path in warcs]
        try:
            _run(args, tmp, target)
            os.replace(tmp, target)
        except OSError as exc:
            raise ArchiveWriteError(f"{target}: cannot write the WACZ: {exc}") from exc
        finally:
            # Interrupted or failed: no half-written package is left behind.
            tmp.unlink(missing_ok=True)
    return target


def _drop_stale(target: Path) -> None:
    """Remove temporary packages that runs killed with kill -9 left beside ``target``.

    Each is named for its run's process; one whose process is gone will
    never be renamed into place (a py-wacz still writing it, orphaned, writes
    on to a file that no longer has a name).
    """
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        pid = stale.name.removeprefix(f".{target.name}.").removesuffix(".tmp")
        if pid.isdigit() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _runs(folder: Path) -> list[Path]:
    """The folders to package: ``folder`` itself, and its runs (a nightly root).

    Both, when ``archiver preserve`` and ``archiver nightly`` share a folder:
    a package never leaves captures out silently.
    """
    own = [folder] if any(folder.glob("*.warc.gz")) else []
    # A shared night's workers each write a folder inside its run folder
    # (archiver.run.worker); a run folder itself may hold none (a night
    # with no article to copy), so both levels are looked through.
    return own + sorted(
        p
        for p in (*folder.glob("*/"), *folder.glob("*/*/"))
        if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.warc.gz"))
    )


def _pages(manifest: Path) -> Iterator[dict[str, str]]:
    """One page per archived URL that answered 2xx, titled for a reader."""
    if not manifest.is_file():
        return
    with manifest.open(encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            if entry.get("outcome") != "alive" or not entry.get("warc_file"):
                continue
            # An article's own page is titled as the article is; any other
            # page by the first text a citing article gives it.
            cited = sorted(
                entry.get("citations", []), key=lambda c: c.get("kind") != "article"
            )
            texts = [c.get("text") for c in cited]
            title = next((t for t in texts if t), None) or entry["url"]
            yield {"url": entry["url"], "title": title}


def _run(args: Sequence[str], tmp: Path, target: Path) -> None:
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and file names
            args, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise ArchiveWriteError(f"cannot run py-wacz ({args[0]}): {exc}") from exc
    if done.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        last = said[-1] if said else f"exit code {done.returncode}"
        raise ArchiveWriteError(f"{target}: py-wacz failed: {last}")
