"""Where training runs: CUDA when there is an NVIDIA GPU, else Apple's MPS, else the CPU.

The app's training and the exported training script (``builder.training_code``) choose the
same way, in the same order.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

DEVICE_KINDS: tuple[str, ...] = ("cuda", "mps", "cpu")


class Device(NamedTuple):
    """A device to train on.

    Attributes:
        kind: ``"cuda"``, ``"mps"`` or ``"cpu"`` (what ``torch.device`` takes).
        label: what the app shows: ``"GPU (CUDA): NVIDIA H200"``, ``"Apple GPU (MPS)"``, ``"CPU"``.
    """

    kind: str
    label: str


def pick_device() -> Device:
    """The first of CUDA, Apple's MPS and the CPU that this machine has.

    Returns:
        The ``Device``; ``torch.device(pick_device().kind)`` is the device to move the model and
        the batches to.
    """
    if torch.cuda.is_available():
        return Device("cuda", f"GPU (CUDA): {torch.cuda.get_device_name(0)}")
    if torch.backends.mps.is_available():
        return Device("mps", "Apple GPU (MPS)")
    return Device("cpu", "CPU")
