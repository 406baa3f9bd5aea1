"""Every resource limit in one place (documented in the README).

Analysis is arithmetic and works at any size; these bound what allocates memory or time, and
what a stranger can send to a shared classroom server.
"""

from __future__ import annotations

MAX_LAYERS = 200
"""Layers in one design."""

MAX_INPUT_ELEMENTS = 3 * 1024 * 1024
"""Elements of one input sample (C·H·W or F): a 3×1024×1024 image."""

MAX_BUILD_PARAMS = 500_000_000
"""Parameters ``build_model`` will allocate (2 GB of float32); above it, SpecError."""

MAX_HEAVY_PARAMS = 30_000_000
"""Parameters above which the app does not build the model for histograms / signal / weights /
training (analysis and code export still work)."""

MAX_SIGNAL_ELEMENTS = 50_000_000
"""Activation elements (batch × all layer outputs) one signal or training pass may hold."""

MAX_UPLOAD_BYTES = 1_000_000
"""A design file upload."""

MAX_LINK_CHARS = 16_000
"""A share link's packed design."""

MAX_CODE_CHARS = 50_000
"""Pasted PyTorch code for import."""

MAX_TRAIN_SECONDS = 60.0
"""One training run."""
