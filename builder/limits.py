"""Every resource limit in one place (documented in the README).

Analysis is arithmetic and works at any size; these bound what allocates memory or time, and
what a stranger can send to a shared classroom server.
"""

from __future__ import annotations

MAX_LAYERS = 1000
"""Layers in one design: ResNet-152 flattened into one design (515 layers with
``builder.templates``' blocks) fits with room to spare."""

MAX_INPUT_ELEMENTS = 3 * 1024 * 1024
"""Elements of one input sample (C·H·W or F): a 3×1024×1024 image."""

MAX_BUILD_PARAMS = 500_000_000
"""Parameters ``build_model`` will allocate (2 GB of float32); above it, SpecError."""

MAX_HEAVY_PARAMS = 30_000_000
"""Parameters above which the app does not build the model for histograms / signal / weights /
training (analysis and code export still work)."""

MAX_SIGNAL_ELEMENTS = 50_000_000
"""Activation elements (200 MB of float32) one signal or training batch may hold at once. A
training batch keeps the input and every layer's output for the backward pass; a signal pass
(no gradients) the input, and the largest layer's input and output
(``builder.signal.signal_elements`` per sample)."""

MAX_HEAVY_MACS = 20_000_000_000
"""Multiply-adds per sample, as ``builder.signal.heavy_macs`` weighs them, above which the signal
pass refuses a design: VGG16 on 3×224×224 (15.5 G) passes, at batch 2. The parameter limits do
not bound compute: a 3×1024×1024 input into ``Conv2d(8, kernel_size=1023, padding="same")`` has
no more parameters than a small MLP but needs 2.6·10¹³ multiply-adds per sample (hours)."""

MAX_PASS_MACS = 40_000_000_000
"""Multiply-adds of one batch (batch × ``heavy_macs``; a training step counts 3 passes, forward
and backward). Signal's batch and training's batch are capped by it, so one batch takes about
3 s on one core of the 2-core reference server (VGG16's convolutions run at 12 G multiply-adds a
second there) and a Stop or time limit, heard between batches, is never far away."""

STATS_WEIGHT = 128
"""The signal pass measures every layer's output (mean, std, zero fraction): about 15 ns per
element on one busy core of the reference server (and a kernel-1 pool as much again), so
``signal_batch_size`` charges each output element this many multiply-adds on top of
``heavy_macs``. Measured: 47 ``MaxPool2d(1, 1)`` layers on 3×1024×1024 (no parameters, 148 M
output elements per sample) took 9.7 s for a batch of 2; VGG16 (28.8 M) stays under the limit."""

MAX_TRAIN_MACS = 200_000_000
"""Multiply-adds per sample (``heavy_macs``) above which training refuses a design. The digits
are resized to the design's input shape, and an epoch is 1,348 training samples (3 passes each)
plus 449 held-out ones: the "VGG block" preset (96 M) trains an epoch in 26 s on the busy
reference server, so at this bound an epoch still fits in ``MAX_TRAIN_SECONDS``."""

CONV_LANES = 16
"""``heavy_macs`` charges a convolution with fewer output channels per group than this as if it
had this many: oneDNN computes 16 output channels at once (AVX-512), so ``Conv2d(16, 1, 3)`` runs
at 1.8 ns per multiply-add where ``Conv2d(16, 16, 3)`` runs at 0.1 (measured on one core)."""

SLOW_PADDING = 24
SLOW_CONV_WEIGHT = 128
"""A convolution with zero padding of ``SLOW_PADDING`` or more on an axis falls off oneDNN's fast
kernels onto one 100-150x slower (measured: ``Conv2d(3, 8, 61, padding=30)`` on 128×128, 11 ns
per multiply-add, against 0.03-0.1 ns with padding up to 23), so ``heavy_macs`` charges its
multiply-adds ``SLOW_CONV_WEIGHT`` times. ``padding_mode`` other than zeros pads before the
convolution and runs fast."""

POOL_WEIGHT = 32
"""``heavy_macs`` charges each element of a pooling window this many multiply-adds: max- and
average-pooling take 1-3 ns per window element, 10-30 times a convolution's multiply-add, and a
stride-1 pool with a huge window (``MaxPool2d(201, 1, 100)`` on 3×1024×1024: 127 G window
elements) is work the layer table's mult-adds do not show."""

MAX_INIT_SECONDS = 2.0
"""Estimated seconds (``builder.initializers.init_seconds``: one core of the reference server)
that a design's slow initializers may take in one build, summed over its tensors. Building holds
``builder.rng.RNG_LOCK``, so every other session's build waits that long. Measured before this
bound: ``sparse`` on a 30 M-parameter ``Linear(3,000,000 → 10)`` 50 s (a Python loop over its 3 M
columns), ``orthogonal`` on 5400×5400 14 s (a QR decomposition), ``trunc_normal`` on 30 M values
5 s. Draws that cost the same per value as ``normal`` are bounded by ``MAX_BUILD_PARAMS``."""

MAX_UPLOAD_BYTES = 1_000_000
"""A design file upload."""

MAX_LINK_CHARS = 16_000
"""A share link's packed design."""

MAX_CODE_CHARS = 50_000
"""Pasted PyTorch code for import."""

MAX_TRAIN_SECONDS = 60.0
"""One training run."""

MAX_DATA_UPLOAD_BYTES = 32_000_000
"""An uploaded training data file (``.npz``, CSV or ``.zip`` of class folders): a 20 MB zip of
10,000 small images fits."""

MAX_DATA_UNPACKED_BYTES = 200_000_000
"""The uncompressed bytes a ``.zip`` or ``.npz`` declares for all its members together, read from
its directory before anything is decompressed (a zip bomb is refused unopened). Each member is
then read only up to its declared size."""

MAX_DATA_FILES = 20_000
"""Members of an uploaded ``.zip``."""

MAX_IMAGE_PIXELS = 4_000_000
"""Pixels (width × height, from its header, before decoding) of one uploaded image."""

MAX_DECODED_PIXELS = 100_000_000
"""Pixels of all the uploaded images together, counted from their headers as they are decoded
(one at a time): 10,000 images of 100×100 fit; a zip of small files that each declare a huge
image does not take minutes."""

MAX_DATA_SAMPLES = 100_000
"""Samples in uploaded training data."""

MAX_DATA_ELEMENTS = 40_000_000
"""Values of uploaded training data as loaded (160 MB of float32), before resizing: training
standardizes and resizes one batch at a time. 10,000 images at the article's 3×32×32 fit."""

MAX_DATA_CLASSES = 100
"""Classes in uploaded training data (the confusion matrix has one row and column each)."""
