"""Per-file work that no file can take down: worker processes, a time limit, and a deep stack.

``run_isolated`` calls a function on each argument tuple in worker processes, one tuple at a time per worker.
A worker that dies (a native crash of the parser, the system killing it) or that runs past the time or memory
limit costs only the tuple it was working on: that one comes back as a :class:`Failure` saying what happened,
and a new worker takes the remaining ones. Memory is watched where the system tells a process's resident
size (``/proc``, on Linux). Workers ignore Ctrl-C (the parent stops them, on every
way out of ``run_isolated``), and end themselves when the parent goes away.

``on_deep_stack`` runs a function on a thread with a large stack and a high recursion limit: libcst's code
generation, the interpreter and the solve recurse as deeply as the syntax is nested, which the engine bounds.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple, Union

STACK_BYTES = 256 * 2**20
_PARENT_CHECK = 1.0  # how often a worker looks whether its parent is still there, in seconds
_MEMORY_CHECK = 0.05  # how often the parent looks at the memory of its busy workers, in seconds
_STOP = b""
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_RESULT, _ERROR = b"R", b"E"  # the first byte of a worker's answer


@dataclass(frozen=True)
class Failure:
    """Why there is no result for one argument tuple."""

    reason: str


Outcome = Union[bytes, Failure]  # the pickled result, or why there is none


def on_deep_stack(function: Callable[..., Any], *arguments: Any, recursion_limit: int) -> Any:
    """``function(*arguments)`` on a thread with a large stack and a recursion limit of at least
    ``recursion_limit``; what it raises is raised here."""
    outcome: Dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function(*arguments)
        except BaseException as error:  # handed over to the calling thread
            outcome["error"] = error

    previous_limit = sys.getrecursionlimit()
    previous_size = threading.stack_size()
    try:
        threading.stack_size(STACK_BYTES)
    except (ValueError, RuntimeError):  # a platform that cannot: the default stack
        pass
    sys.setrecursionlimit(max(previous_limit, recursion_limit))
    try:
        thread = threading.Thread(target=target, name="gradlint-deep-stack", daemon=True)
        thread.start()
        threading.stack_size(previous_size)
        thread.join()
    finally:
        sys.setrecursionlimit(previous_limit)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def run_isolated(
    function: Callable[..., Any],
    argument_tuples: Sequence[Tuple[Any, ...]],
    *,
    workers: int,
    timeout: float,
    memory: Optional[int],
    recursion_limit: int,
) -> List[Outcome]:
    """``function(*arguments)`` for each tuple in at most ``workers`` processes, each result pickled, in the
    order of ``argument_tuples`` (which is also the order they are handed out in). A tuple may take ``timeout``
    seconds and ``memory`` bytes more than its worker held when it started (None: no limit). Raises OSError when
    not even one process can be started."""
    outcomes: List[Optional[Outcome]] = [None] * len(argument_tuples)
    pending: Deque[int] = deque(range(len(argument_tuples)))
    idle: List[_Worker] = []
    busy: Dict[_Worker, _Job] = {}
    started: List[_Worker] = []
    try:
        while pending or busy:
            while pending and (idle or len(busy) < workers):
                if idle:
                    worker = idle.pop()
                else:
                    started_worker = _Worker.start(function, recursion_limit)
                    if started_worker is None:  # the system refused another process: go on with those there are
                        if not busy:
                            raise OSError("cannot start a worker process")
                        workers = len(busy)
                        break
                    worker = started_worker
                    started.append(worker)
                index = pending.popleft()
                worker.send(pickle.dumps(argument_tuples[index], protocol=pickle.HIGHEST_PROTOCOL))
                busy[worker] = _Job(index, time.monotonic(), worker.resident())
            pause = min(job.started for job in busy.values()) + timeout - time.monotonic()
            if memory is not None:
                pause = min(pause, _MEMORY_CHECK)
            wait(
                [endpoint for worker in busy for endpoint in (worker.connection, worker.process.sentinel)],
                timeout=max(0.0, pause),
            )
            for worker, job in list(busy.items()):
                outcome = worker.receive() or _beyond_limits(worker, job, timeout, memory)
                if outcome is not None:
                    del busy[worker]
                    outcomes[job.index] = outcome
                    if worker.alive:
                        idle.append(worker)
    except BaseException:  # Ctrl-C, a termination signal, a bug: no worker outlives the run
        for worker in started:
            worker.kill()
        raise
    for worker in started:
        worker.stop()
    return outcomes  # type: ignore[return-value]


@dataclass(frozen=True)
class _Job:
    index: int  # of the argument tuple a worker is busy with
    started: float  # when, by the monotonic clock
    resident: int  # the worker's resident bytes then


def _beyond_limits(worker: _Worker, job: _Job, timeout: float, memory: Optional[int]) -> Optional[Failure]:
    """Stop a worker past its limits: the failure of its tuple, or None while it is within them."""
    if time.monotonic() - job.started >= timeout:
        worker.kill()
        return Failure(f"its analysis took longer than the limit of {timeout:g} s (timeout)")
    if memory is not None and worker.resident() - job.resident > memory:
        worker.kill()
        return Failure(f"its analysis needed more than the limit of {memory // 2**20} MB of memory (max-memory)")
    return None


class _Worker:
    def __init__(self, process: multiprocessing.process.BaseProcess, connection: Connection) -> None:
        self.process = process
        self.connection = connection
        self.alive = True

    @classmethod
    def start(cls, function: Callable[..., Any], recursion_limit: int) -> Optional[_Worker]:
        ours, theirs = multiprocessing.Pipe()
        process = multiprocessing.get_context().Process(
            target=_serve, args=(theirs, function, os.getpid(), recursion_limit), daemon=True
        )
        try:
            process.start()
        except OSError:
            ours.close()
            return None
        finally:
            theirs.close()
        return cls(process, ours)

    def send(self, message: bytes) -> None:
        self.connection.send_bytes(message)

    def resident(self) -> int:
        """Resident bytes of the worker, 0 where the system does not tell."""
        try:
            with open(f"/proc/{self.process.pid}/statm", "rb") as stream:
                return int(stream.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            return 0

    def receive(self) -> Optional[Outcome]:
        """The outcome of the current tuple if the worker answered or died, else None (still working)."""
        try:
            if self.connection.poll():
                message = self.connection.recv_bytes()
                if message[:1] == _RESULT:
                    return message[1:]
                return Failure(f"its analysis failed with {message[1:].decode('utf-8', 'replace')}")
            if self.process.is_alive():
                return None
        except (EOFError, OSError):  # the worker died, perhaps while answering
            pass
        self.process.join()
        self.alive = False
        return Failure(f"the process analysing it stopped ({_exit_reason(self.process.exitcode)})")

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.alive = False
        self.connection.close()

    def stop(self) -> None:
        """End an idle worker: it returns when told to stop."""
        if self.alive:
            try:
                self.connection.send_bytes(_STOP)
                self.process.join(_PARENT_CHECK)
            except OSError:
                pass
        self.kill()


def _exit_reason(code: Optional[int]) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _serve(connection: Connection, function: Callable[..., Any], parent: int, recursion_limit: int) -> None:
    """A worker's loop: a pickled argument tuple in, the pickled result (or the error it raised) out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    faulthandler.disable()  # a crash is reported by the parent, as a finding: no dump on the shared stderr
    threading.Thread(target=_exit_with_parent, args=(parent,), name="gradlint-parent-watch", daemon=True).start()
    while True:
        message = connection.recv_bytes()
        if message == _STOP:
            return
        arguments = pickle.loads(message)
        connection.send_bytes(on_deep_stack(_answer, function, arguments, recursion_limit=recursion_limit))


def _answer(function: Callable[..., Any], arguments: Tuple[Any, ...]) -> bytes:
    """The pickled result, made on the deep stack as well: pickling recurses as deeply as the result nests."""
    try:
        return _RESULT + pickle.dumps(function(*arguments), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # an error for this tuple alone
        return _ERROR + f"{type(error).__name__}: {error}".encode("utf-8", "replace")


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent went away (killed, say) has no one to answer: it ends itself."""
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK)
    os._exit(1)
