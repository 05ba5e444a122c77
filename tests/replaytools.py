"""pywb for the replay tests: its own virtualenv, a collection, a server.

pywb is a tool we test against, not a dependency, and it pins much of what
it needs (``pyOpenSSL<26.2``, which drags ``cryptography`` back below the
version trustme gets here; ``werkzeug==3.1.7``, ``redis==2.10.6``, gevent),
so it never shares our environment: it lives in a virtualenv of its own under
``<repo>/.tools/`` (``ARCHIVER_TOOLS_DIR`` moves it), built once (about 15 s
from the package index) and reused by later runs while its marker file names
the same pywb and Python versions. The folder ignores itself in git
(``.tools/.gitignore`` is ``*``).

``Wayback`` runs pywb's ``wayback`` server on 127.0.0.1 on a free port in a
subprocess, waits until it answers and kills it when done. pywb is told to
use the public suffix list it ships rather than fetch one, so it makes no
connection beyond loopback.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

PYWB_VERSION = "2.10.0"
REPO = Path(__file__).resolve().parent.parent
MARKER = "archiver-tool-ready.txt"
INSTALL_TIMEOUT = 600.0
START_TIMEOUT = 60.0
BROWSER_ENCODINGS = "gzip, deflate"


def tools_dir() -> Path:
    return Path(os.environ.get("ARCHIVER_TOOLS_DIR") or REPO / ".tools")


def _marker_text() -> str:
    return f"pywb=={PYWB_VERSION} python{sys.version_info[0]}.{sys.version_info[1]}\n"


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One pytest process builds the virtualenv; another waits, then reuses it."""
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def pywb_venv() -> Path:
    """The bin/ folder of a virtualenv with pywb, built if missing or stale."""
    root = tools_dir()
    root.mkdir(parents=True, exist_ok=True)
    ignore = root / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    venv = root / f"pywb-{PYWB_VERSION}"
    marker = venv / MARKER
    with _locked(root):
        ready = marker.is_file() and marker.read_text() == _marker_text()
        if ready and _runs(venv / "bin" / "wayback"):
            return venv / "bin"
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"pywb=={PYWB_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
        if install.returncode != 0:
            raise RuntimeError(
                f"cannot install pywb {PYWB_VERSION} into {venv}:\n"
                + install.stdout
                + install.stderr
            )
        marker.write_text(_marker_text())
    return venv / "bin"


def _runs(program: Path) -> bool:
    if not program.is_file():
        return False
    probe = subprocess.run(
        [str(program), "--version"], capture_output=True, check=False, timeout=60
    )
    return probe.returncode == 0


def offline_env(scratch: Path) -> dict[str, str]:
    """The environment for pywb tools: no proxies, no suffix-list download."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    env["TLDEXTRACT_CACHE"] = str(scratch / "tldextract-cache")
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes  # as pywb sent it: de-chunked, never content-decoded


class Wayback:
    """``wayback`` serving the collections under ``root`` on 127.0.0.1."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self._bin = bin_dir
        self._root = root
        self._log_path = root / "wayback.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def __enter__(self) -> Wayback:
        for _ in range(3):  # a free port can be taken before pywb binds it
            self.port = free_port()
            if self._start():
                return self
        raise RuntimeError(f"wayback did not start:\n{self.log()}")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop()

    def log(self) -> str:
        return self._log_path.read_text(errors="replace")

    def _start(self) -> bool:
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    str(self._bin / "wayback"),
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--directory",
                    str(self._root),
                ],
                cwd=self._root,
                env=offline_env(self._root),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                self.get("/")
                return True
            time.sleep(0.1)
        self._stop()
        raise RuntimeError(f"wayback did not answer in {START_TIMEOUT} s")

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def get(self, path: str, accept_encoding: str = BROWSER_ENCODINGS) -> Reply:
        """GET ``path`` without following redirects or decoding the body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Accept-Encoding": accept_encoding}
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()

    def replay(
        self,
        collection: str,
        timestamp: str,
        url: str,
        accept_encoding: str = BROWSER_ENCODINGS,
    ) -> Reply:
        """The capture of ``url`` at ``timestamp``, raw (``id_``: not rewritten).

        pywb passes a content-encoded body through only to a client that
        accepts that encoding, as a browser does; otherwise it decodes it.
        """
        return self.get(f"/{collection}/{timestamp}id_/{url}", accept_encoding)


REPLAYWEBPAGE_VERSION = "2.5.3"
AXE_CORE_VERSION = "4.10.3"


def replaywebpage() -> Path | None:
    """A folder holding ReplayWeb.page's ``ui.js`` and ``sw.js``, or None without npm.

    ReplayWeb.page runs entirely in the browser: a web component (``ui.js``)
    and a service worker (``sw.js``) that reads a WACZ and answers the
    replayed page's requests. Both are bundled in its npm package.
    """
    return npm_files("replaywebpage", REPLAYWEBPAGE_VERSION, ("ui.js", "sw.js"))


def axe_core() -> Path | None:
    """The folder holding axe-core's ``axe.min.js``, or None without npm."""
    return npm_files("axe-core", AXE_CORE_VERSION, ("axe.min.js",))


def npm_files(package: str, version: str, files: tuple[str, ...]) -> Path | None:
    """``files`` of an npm package, kept under ``.tools/``; None without npm.

    The files tested against here are bundles that need nothing else, so
    ``npm pack`` (the package's tarball: no dependencies, no install
    scripts run) fetches all of them; they are kept, with the package's
    licence, once per version, like pywb.
    """
    npm = shutil.which("npm")
    root = tools_dir()
    folder = root / f"{package}-{version}"
    root.mkdir(parents=True, exist_ok=True)
    ignore = root / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    with _locked(root):
        if (folder / MARKER).is_file() and all((folder / f).is_file() for f in files):
            return folder
        if npm is None:
            return None
        shutil.rmtree(folder, ignore_errors=True)
        scratch = folder.with_name(folder.name + ".partial")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        packed = subprocess.run(
            [npm, "pack", "--silent", f"{package}@{version}"],
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
        tarballs = list(scratch.glob("*.tgz"))
        if packed.returncode != 0 or not tarballs:
            raise RuntimeError(
                f"cannot fetch {package} {version} with npm pack:\n"
                + packed.stdout
                + packed.stderr
            )
        with tarfile.open(tarballs[0]) as tar:
            for name in (*files, "LICENSE"):
                member = tar.extractfile(f"package/{name}")
                if member is None:
                    raise RuntimeError(f"{package}'s package has no {name}")
                (scratch / name).write_bytes(member.read())
        tarballs[0].unlink()
        (scratch / MARKER).write_text(f"{package}@{version}\n")
        scratch.rename(folder)
    return folder
