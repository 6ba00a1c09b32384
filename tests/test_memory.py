"""caviar.memory: glibc malloc tuning keeps freed tensor memory in the process.

Checked through glibc's own accounting (``mallinfo2``), in fresh subprocesses: without
the tuning an 8 MiB tensor is a fresh ``mmap`` (returned to the system when freed, so
the next one is page-faulted in again); with it the tensor comes from the heap and its
memory stays there, free for the next step, after it is freed. (Counting page faults
instead depends on transparent huge pages and the machine's state.)
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import ctypes, sys, torch
from caviar.memory import tune_malloc

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
if sys.argv[1] == "tune":
    assert tune_malloc() is True and tune_malloc() is True
mapped = libc.mallinfo2().hblkhd
t = torch.empty(2**21)  # 8 MiB
t.fill_(1.0)
mapped_by_tensor = libc.mallinfo2().hblkhd - mapped
del t
print(mapped_by_tensor, libc.mallinfo2().fordblks)
"""

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="glibc only",
)


def run_probe(mode: str) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CAVIAR_MALLOC_TUNING": "1"},
    )
    mapped, free_in_heap = out.stdout.split()
    return int(mapped), int(free_in_heap)


@glibc
def test_tuned_tensors_come_from_the_heap_and_stay_there_when_freed() -> None:
    mapped, _ = run_probe("plain")
    assert mapped >= 8 * 2**20  # glibc's default: a fresh mmap for a block this size
    mapped, free_in_heap = run_probe("tune")
    assert mapped == 0
    assert free_in_heap >= 8 * 2**20  # kept for the next allocation, not trimmed


def test_env_switch_turns_it_off() -> None:
    code = "import caviar.memory as m; print(m.tune_malloc())"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CAVIAR_MALLOC_TUNING": "0"},
    )
    assert out.stdout.strip() == "False"
