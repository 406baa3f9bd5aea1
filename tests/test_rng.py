"""torch's one global generator, shared by concurrent sessions: builds stay exact."""

from __future__ import annotations

import threading

import torch

import builder
from builder.presets import preset
from builder.rng import PrivateStream


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
