"""torch's global random generator, shared safely by many sessions in one server process.

torch has ONE global CPU generator per process, and layer constructors (``reset_parameters``)
and Dropout draw from it. On a server where sessions run in threads, a seeded build in one
session would otherwise interleave with another session's draws and get different weights.
Every use of the global generator in ``builder`` therefore goes through ``RNG_LOCK``.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import torch

RNG_LOCK = threading.RLock()


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run with the global generator seeded, alone, and restore the caller's state after."""
    with RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class PrivateStream:
    """A seeded global-generator stream of one's own, for long runs (training with Dropout).

    Each ``active()`` block swaps the stream in under the lock and swaps it out after, so the
    run's draws are the same as if it ran alone, and other sessions never see them.
    """

    def __init__(self, seed: int) -> None:
        self.state = torch.Generator().manual_seed(seed).get_state()

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        with RNG_LOCK:
            saved = torch.get_rng_state()
            torch.set_rng_state(self.state)
            try:
                yield
            finally:
                self.state = torch.get_rng_state()
                torch.set_rng_state(saved)


_THREADS_LOCK = threading.Lock()
_LOCAL = threading.local()


@contextlib.contextmanager
def intra_op_threads(threads: int | None) -> Iterator[None]:
    """torch's intra-op thread count set to ``threads`` in the calling thread, then restored.

    In this torch (OpenMP backend) the count is per thread: ``torch.set_num_threads`` in one
    thread leaves the others' alone. It also stores the value in a process-wide default that a
    thread adopts the first time it uses torch, so a Streamlit session's fresh script thread
    would start with a training run's 1 thread, and keep it. So the calling thread's own count is
    saved and restored (a per-thread stack: nested and overlapping uses unwind to the first
    saved value), and the process-wide default is put back at once, from a helper thread.
    """
    if threads is None:
        yield
        return
    stack = _LOCAL.__dict__.setdefault("saved", [])
    _set_own_threads(threads, stack)
    try:
        yield
    finally:
        _set_own_threads(stack.pop(), None)


def _set_own_threads(threads: int, save_to: list[int] | None) -> None:
    """``torch.set_num_threads(threads)`` for this thread only (the process default unchanged);
    this thread's previous count is appended to ``save_to``."""
    with _THREADS_LOCK:  # short: no other caller sees the default while it is changed
        own = torch.get_num_threads()  # first use in this thread adopts the default: do it now
        if save_to is not None:
            save_to.append(own)
        default = _on_fresh_thread(torch.get_num_threads)
        torch.set_num_threads(threads)
        _on_fresh_thread(functools.partial(torch.set_num_threads, default))


def _on_fresh_thread(function: Callable[[], Any]) -> Any:
    """``function()`` run in a new thread (which sees torch's process-wide default count)."""
    box: list[Any] = []
    helper = threading.Thread(target=lambda: box.append(function()), name="builder-threads")
    helper.start()
    helper.join()
    return box[0]
