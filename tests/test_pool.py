"""Worker processes: a crash, an error or a timeout costs one argument tuple, never the others; deep recursion runs
on a deep stack."""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time

import pytest

from gradlint.pool import Failure, on_deep_stack, run_isolated


def square_or_fail(number: int) -> int:
    """Squares; 13 crashes the process natively (a segfault, as libcst's parser once did), 7 raises, 99 hangs,
    and 1000 takes a gigabyte."""
    if number == 1000:
        hoard = [bytearray(2**20) for _ in range(1024)]
        time.sleep(60)
        return len(hoard)
    if number == 13:
        os.kill(os.getpid(), signal.SIGSEGV)
    if number == 7:
        raise ValueError("seven is not allowed")
    if number == 99:
        time.sleep(60)
    return number * number


def depth(levels: int) -> int:
    return 0 if levels == 0 else 1 + depth(levels - 1)


def outcomes(numbers, workers: int, timeout: float = 30.0, memory=None):
    found = run_isolated(
        square_or_fail,
        [(number,) for number in numbers],
        workers=workers,
        timeout=timeout,
        memory=memory,
        recursion_limit=1000,
    )
    return [outcome if isinstance(outcome, Failure) else pickle.loads(outcome) for outcome in found]


@pytest.mark.parametrize("workers", [1, 2, 5])
def test_results_come_back_in_order(workers: int) -> None:
    assert outcomes(range(6), workers) == [0, 1, 4, 9, 16, 25]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_crash_costs_only_the_tuple_being_worked_on(workers: int) -> None:
    found = outcomes([2, 13, 3, 13, 4], workers)
    assert found[0::2] == [4, 9, 16]
    assert found[1] == found[3] == Failure("the process analysing it stopped (killed by SIGSEGV)")


def test_an_error_is_reported_for_its_tuple_and_the_worker_goes_on() -> None:
    assert outcomes([2, 7, 3], 1) == [4, Failure("its analysis failed with ValueError: seven is not allowed"), 9]


def test_a_tuple_taking_longer_than_the_timeout_is_stopped_and_the_others_finish() -> None:
    found = outcomes([2, 99, 3, 4], 2, timeout=1.0)
    assert found == [4, Failure("its analysis took longer than the limit of 1 s (timeout)"), 9, 16]


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="the memory limit needs /proc")
def test_a_tuple_taking_more_memory_than_the_limit_is_stopped_and_the_others_finish() -> None:
    found = outcomes([2, 1000, 3], 2, memory=200 * 2**20)
    assert found == [4, Failure("its analysis needed more than the limit of 200 MB of memory (max-memory)"), 9]


def test_no_tuples_start_no_process() -> None:
    assert run_isolated(square_or_fail, [], workers=4, timeout=1.0, memory=None, recursion_limit=1000) == []


def test_deep_recursion_runs_on_a_deep_stack() -> None:
    levels = 20 * sys.getrecursionlimit()
    with pytest.raises(RecursionError):
        depth(levels)
    assert on_deep_stack(depth, levels, recursion_limit=levels + 100) == levels
    assert sys.getrecursionlimit() < levels  # restored


def test_what_the_deep_stack_raises_is_raised_to_the_caller() -> None:
    with pytest.raises(ValueError, match="seven"):
        on_deep_stack(square_or_fail, 7, recursion_limit=1000)
