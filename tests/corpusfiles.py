"""Where the shared corpus of real articles is: beside the checkout, or configured."""

from __future__ import annotations

import os
from pathlib import Path


def corpus_folder() -> Path | None:
    """``$ARCHIVER_CORPUS``, else ``shared/corpus/articles`` in a parent folder."""
    configured = os.environ.get("ARCHIVER_CORPUS")
    candidates = [Path(configured)] if configured else []
    root = Path(__file__).resolve().parents[1]
    candidates += [parent / "shared" / "corpus" / "articles" for parent in root.parents]
    return next((c for c in candidates if c.is_dir()), None)
