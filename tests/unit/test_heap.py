"""archiver.heap gives a fragmented C heap's free pages back (on glibc)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from archiver import heap

# Fills the C heap with 1 KB blocks (too big for Python's own allocator),
# frees nine in ten, so the heap is holes between live blocks that glibc
# keeps, and prints the resident memory before and after release().
FRAGMENT = """
from archiver import heap

def resident_mb():
    with open("/proc/self/status") as status:
        line = next(l for l in status if l.startswith("VmRSS"))
    return int(line.split()[1]) / 1024

blocks = [bytes(1000) + bytes([n % 256]) for n in range(200_000)]
kept = blocks[::10]
del blocks
before = resident_mb()
released = heap.release()
print(released, before, resident_mb())
"""


@pytest.mark.skipif(not heap.available(), reason="no malloc_trim: not glibc")
def test_release_returns_the_holes_of_a_fragmented_heap():
    done = subprocess.run(
        [sys.executable, "-c", FRAGMENT], capture_output=True, text=True, check=True
    )
    released, before, after = done.stdout.split()
    assert released == "True"
    # About 180 MB were freed between the live blocks: most of it goes back.
    assert float(before) - float(after) > 100, done.stdout


def test_release_is_safe_to_call_at_any_time():
    # Nothing to give back just after giving back, or no malloc_trim: False.
    heap.release()
    assert heap.release() in (True, False)
