"""bench/instructions.py: its helper switches callgrind's counting inside a process, and the
count is read from the dump the switch asked for."""

import subprocess
import sys

import pytest

from bench import instructions


def test_the_dump_asked_for_is_read_and_the_workers_own_file_left(tmp_path):
    (tmp_path / "callgrind.41").write_text("totals: 999\n")  # the worker's file, written beside it
    (tmp_path / "callgrind.41.1").write_text("events: Ir\nsummary: 123456\ntotals: 123456\n")
    assert instructions.instructions(tmp_path, set()) == 123456
    assert not (tmp_path / "callgrind.41.1").exists()  # read once


def test_a_dump_without_totals_is_refused(tmp_path):
    (tmp_path / "callgrind.41.2").write_text("events: Ir\n")
    with pytest.raises(SystemExit, match="no totals"):
        instructions.instructions(tmp_path, set())


def test_the_helper_counts_only_between_start_and_stop(tmp_path):
    toggle = instructions.build_toggle()
    program = (f"import ctypes; t = ctypes.CDLL({str(toggle)!r}); t.daiou_callgrind_start(); "
               f"sum(range(200000)); t.daiou_callgrind_stop(); sum(range(2000000))")
    subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                    f"--callgrind-out-file={tmp_path}/callgrind.%p", sys.executable, "-c", program],
                   check=True, capture_output=True, timeout=300)
    counted = instructions.instructions(tmp_path, set())
    # The loop's 200,000 steps at least, and not the ten times longer one after the stop (~500 M).
    assert 2_000_000 < counted < 250_000_000
