"""torch's global random generator, shared safely by many sessions in one server process.

torch has ONE global CPU generator per process, and layer constructors (``reset_parameters``)
and Dropout draw from it. On a server where sessions run in threads, a seeded build in one
session would otherwise interleave with another session's draws and get different weights.
Every use of the global generator in ``builder`` therefore goes through ``RNG_LOCK``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

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
_THREADS = {"users": 0, "saved": 0}


@contextlib.contextmanager
def intra_op_threads(threads: int | None) -> Iterator[None]:
    """torch's intra-op thread count set to ``threads`` while any caller needs it, then restored.

    ``torch.set_num_threads`` is process-wide too: every caller in ``builder`` shares this one
    counter, so the first to enter saves the setting and the last to leave restores it, however
    histograms, signal and training runs of different sessions overlap.
    """
    if threads is None:
        yield
        return
    with _THREADS_LOCK:
        if _THREADS["users"] == 0:
            _THREADS["saved"] = torch.get_num_threads()
        _THREADS["users"] += 1
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _THREADS["users"] -= 1
            if _THREADS["users"] == 0:
                torch.set_num_threads(_THREADS["saved"])
