"""torch's one global generator, shared by concurrent sessions: builds stay exact."""

from __future__ import annotations

import threading

import torch

import builder
from builder.presets import preset
from builder.rng import PrivateStream, intra_op_threads


def test_concurrent_builds_and_dropout_never_interleave():
    """Threads building seeded models while another draws Dropout masks all the time."""
    design = preset("VGG block with BatchNorm")
    design["layers"].insert(-1, {"type": "Dropout", "p": 0.5})
    reference = builder.build_model(design).state_dict()
    stop = threading.Event()

    def noisy() -> None:  # another session training with Dropout, on the global generator
        stream = PrivateStream(1)
        layer = torch.nn.Dropout(0.5).train()
        while not stop.is_set():
            with stream.active():
                layer(torch.ones(256))

    results: list[dict] = []

    def build() -> None:
        for _ in range(3):
            results.append(builder.build_model(design).state_dict())

    noise = threading.Thread(target=noisy)
    noise.start()
    builders = [threading.Thread(target=build) for _ in range(4)]
    for thread in builders:
        thread.start()
    for thread in builders:
        thread.join()
    stop.set()
    noise.join()
    assert len(results) == 12
    for state in results:
        assert all(torch.equal(state[key], reference[key]) for key in reference)


def test_private_stream_is_the_seeded_sequence_and_leaves_the_caller_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    stream = PrivateStream(7)
    with stream.active():
        first = torch.rand(5)
    with stream.active():
        second = torch.rand(5)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(7)
    assert torch.equal(torch.cat([first, second]), torch.rand(10))


def test_set_num_threads_is_per_thread_in_this_torch():
    """The premise of ``intra_op_threads``: a thread's setting leaves the others' alone."""
    before = torch.get_num_threads()
    seen: list[int] = []

    def other() -> None:
        torch.set_num_threads(before + 1)
        seen.append(torch.get_num_threads())

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    try:
        assert seen == [before + 1]
        assert torch.get_num_threads() == before
    finally:
        torch.set_num_threads(before)  # also the default that new threads start with


def test_overlapping_runs_in_two_threads_each_get_their_own_thread_count_back():
    """Session A's run starts, session B's starts, A's ends, B's ends: each thread is back at
    its own count, and a thread starting meanwhile gets the process default, not a run's 1."""
    before = torch.get_num_threads()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, int] = {}

    def fresh(key: str) -> None:
        thread = threading.Thread(target=lambda: seen.__setitem__(key, torch.get_num_threads()))
        thread.start()
        thread.join()

    def session_a() -> None:
        torch.set_num_threads(3)
        with intra_op_threads(1):
            seen["a inside"] = torch.get_num_threads()
            a_in.set()
            b_in.wait(10)
        seen["a after"] = torch.get_num_threads()
        a_out.set()

    def session_b() -> None:
        a_in.wait(10)
        torch.set_num_threads(4)
        fresh("default")
        with intra_op_threads(1):
            b_in.set()
            a_out.wait(10)
            seen["b inside"] = torch.get_num_threads()
            fresh("fresh during")
        seen["b after"] = torch.get_num_threads()

    threads = [threading.Thread(target=session_a), threading.Thread(target=session_b)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        torch.set_num_threads(before)
    assert seen["a inside"] == seen["b inside"] == 1
    assert (seen["a after"], seen["b after"]) == (3, 4)
    assert seen["fresh during"] == seen["default"] == 4
