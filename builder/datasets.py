"""Data to train on: scikit-learn's digits, or an uploaded ``.npz``, CSV or ``.zip`` of images.

The formats, read as the exported training script reads them (``builder.training_code``), so
the script given the same file trains on the same samples:

- ``.npz``: arrays ``x`` (``[N, ...]`` numbers) and ``y`` (``[N]`` labels);
- CSV: one sample a row, a label column (the one headed "label", else the first) and feature or
  pixel columns; a first row that is not all numbers (after its first cell) is the header;
- ``.zip`` of class folders: each image's class is the name of the folder it is in, classes
  numbered in sorted order; each image read in grey (or RGB for a 3-channel design) at the
  design's height × width (``s×s``, ``s = floor(sqrt(F))``, for a flat ``[F]`` input).

Samples become ``[N, c, h, w]`` images (``as_images``: ``[N, h, w]`` is grey, ``[N, h, w, c]``
channels last, ``[N, s·s]`` an s×s image), unless they already have the design's input shape.
Labels that are whole numbers from 0 are the classes as they are; anything else (names,
negative or fractional numbers) is numbered in sorted order.

``Split`` holds the samples split by a seeded permutation, standardized with the training
split's mean and std, and resizes one batch at a time to the design's input: ``[C, H, W]`` gets
the image at ``H×W`` (bilinear) in every channel (other channel counts are first averaged to
grey); a flat ``[F]`` input gets it at ``s×s``, flattened row by row and zero-padded to ``F``; a
sequence ``[C, L]`` reads the pixels row by row, resized (linear) to length ``L`` in every
channel. Resizing is linear and keeps constants, so standardizing before it equals after.

Safety: everything is read in memory and nothing is written to disk. Before a zip (or an npz,
itself a zip) is decompressed, the uncompressed sizes its directory declares are summed and
bounded, every member is read only up to its declared size, names that are absolute or climb
out (``..``) refuse the whole file, and each image's width and height are read from its header
and bounded before its pixels are decoded. Every limit is in ``builder.limits``; a file that
breaks one, or cannot be read, raises ``SpecError`` with what was found.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .errors import SpecError
from .limits import (
    MAX_DATA_CLASSES,
    MAX_DATA_ELEMENTS,
    MAX_DATA_FILES,
    MAX_DATA_SAMPLES,
    MAX_DATA_UNPACKED_BYTES,
    MAX_DATA_UPLOAD_BYTES,
    MAX_DECODED_PIXELS,
    MAX_IMAGE_PIXELS,
    MAX_SIGNAL_ELEMENTS,
)
from .spec import load_spec

FORMATS: tuple[str, ...] = ("digits", "npz", "csv", "folder")
"""Where samples come from: the built-in digits, or the uploaded formats (``"folder"``: a
``.zip`` of class folders; ``builder.training_code`` names them the same)."""
SUFFIXES = {".npz": "npz", ".csv": "csv", ".zip": "folder"}
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
_PIL_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
MIN_SAMPLES = 10
"""Fewer samples than this leave nothing sensible to train on and hold out."""
_PASS_THROUGH = ("Identity", "Dropout", "Flatten", "Softmax", "LogSoftmax")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Samples and their labels, before splitting and resizing.

    Attributes:
        images: float32 ``[N, c, h, w]`` images, or ``[N, *input_shape]`` samples that already
            have the design's input shape.
        labels: int64 ``[N]`` class indices from 0.
        classes: one name per class (``len(classes)`` is the number of classes).
        format: one of ``FORMATS``.
        name: the file name (``"digits"`` for the built-in set).
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    format: str
    name: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def describe(self) -> str:
        """``"1,797 samples of 1×8×8, 10 classes"``."""
        shape = "×".join(map(str, self.images.shape[1:]))
        return f"{len(self.labels):,} samples of {shape}, {self.num_classes} classes"


@functools.lru_cache(maxsize=1)
def digits() -> Dataset:
    """scikit-learn's 1,797 8×8 digits as ``[1797, 1, 8, 8]`` floats in [0, 1], labels 0-9."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(data.target, dtype=torch.int64)
    return Dataset(images, labels, tuple(map(str, range(10))), "digits", "digits")


# --- uploads -------------------------------------------------------------------------------------


def upload_format(name: str) -> str:
    """The format of an uploaded file from its name: ``"npz"``, ``"csv"`` or ``"folder"``."""
    suffix = PurePosixPath(name.lower()).suffix
    if suffix not in SUFFIXES:
        raise SpecError(
            f"the data file must be an .npz, a .csv or a .zip of class folders, got {name!r:.80}"
        )
    return SUFFIXES[suffix]


def load_upload(name: str, data: bytes, input_shape: Sequence[int]) -> Dataset:
    """An uploaded data file as a ``Dataset``, checked against the limits.

    Args:
        name: the file name (its suffix says the format: ``.npz``, ``.csv`` or ``.zip``).
        data: the file's bytes (at most ``MAX_DATA_UPLOAD_BYTES``).
        input_shape: the design's input shape (images in a zip are read at its size).

    Returns:
        The samples and labels.

    Raises:
        SpecError: a file that is too large, cannot be read, or breaks a limit; fewer than
            ``MIN_SAMPLES`` samples or 2 classes; a hostile zip (see the module docstring).
    """
    shape = check_input_shape(input_shape)
    kind = upload_format(name)
    if len(data) > MAX_DATA_UPLOAD_BYTES:
        raise SpecError(
            f"the data file has {len(data):,} bytes; the limit is {MAX_DATA_UPLOAD_BYTES:,}"
        )
    reader = {"npz": _read_npz, "csv": _read_csv, "folder": _read_zip}[kind]
    x, y, classes = reader(data, shape)
    images, labels, classes = _checked(x, y, classes, shape)
    return Dataset(images, labels, classes, kind, _display_name(name))


def _display_name(name: str) -> str:
    """The file's own name, printable (the exported script takes it as ``DATA_PATH``)."""
    base = PurePosixPath(name.replace("\\", "/")).name
    return "".join(c for c in base if c.isprintable())[:200] or "data"


def _read_npz(data: bytes, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, Any]:
    archive = _open_zip(data, ".npz")
    names = {info.filename for info in archive.infolist()}
    if not {"x.npy", "y.npy"} <= names:
        held = ", ".join(sorted(n.removesuffix(".npy") for n in names)[:10]) or "nothing"
        raise SpecError(f"the .npz must hold arrays x and y; it holds {held}")
    for name in ("x.npy", "y.npy"):
        _check_npy_header(archive, archive.getinfo(name))
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            x, y = arrays["x"], arrays["y"]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise SpecError(f"cannot read the .npz: {exc}") from None
    if x.dtype.kind not in "biuf":
        raise SpecError(f"x must hold numbers, got dtype {x.dtype}")
    if x.ndim < 2:
        raise SpecError(f"x must be [N, ...] samples, got shape {x.shape}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise SpecError(f"y must be [N] labels, one per sample, got shape {y.shape}")
    return x, y, None


def _check_npy_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse an array whose header declares more bytes than its member holds (numpy would
    allocate that much before finding the data missing) or Python objects (pickles)."""
    try:
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            read = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }.get(version)
            if read is None:
                raise ValueError(f"unknown .npy version {version}")
            array_shape, _, dtype = read(member)
    except (ValueError, OSError, EOFError, RuntimeError, zipfile.BadZipFile) as exc:
        raise SpecError(f"cannot read {info.filename[:-4]} in the .npz: {exc}") from None
    if dtype.hasobject:
        raise SpecError(f"{info.filename[:-4]} holds Python objects; use numbers or strings")
    size = math.prod(array_shape) * dtype.itemsize
    if size > info.file_size:
        raise SpecError(
            f"{info.filename[:-4]} declares {array_shape} of {dtype} ({size:,} bytes) but holds "
            f"{info.file_size:,} bytes"
        )


def _read_csv(data: bytes, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, Any]:
    """Row by row, each row's numbers kept as float32 at once (never a Python string per cell
    for the whole file: 32 MB of short cells would take gigabytes)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"the CSV is not UTF-8 text (byte {exc.start})") from None
    rows = (row for row in csv.reader(io.StringIO(text)) if row)
    try:
        head = next(rows, None)
        if head is None:
            raise SpecError("the CSV is empty")
        label_column, number = 0, 1
        if not all(_is_number(cell) for cell in head[1:]):  # a header
            names = [cell.strip().lower() for cell in head]
            label_column = names.index("label") if "label" in names else 0
            head, number = next(rows, []), 2
        width, first = len(head), number
        if width < 2:
            raise SpecError(
                "the CSV needs a label column and at least one feature column, one sample a row"
            )
        labels, features = [], []
        for row in itertools.chain([head], rows):
            if len(row) != width:
                raise SpecError(
                    f"CSV row {number} has {len(row)} columns; row {first} has {width}: "
                    "every row needs a label and the same feature columns"
                )
            labels.append(row.pop(label_column))
            features.append(_numbers(row, number, label_column))
            _check_size(len(features), len(features) * (width - 1))
            number += 1
    except csv.Error as exc:
        raise SpecError(f"cannot read the CSV: {exc}") from None
    return np.stack(features), np.array(labels), None


def _numbers(cells: list[str], number: int, label_column: int) -> np.ndarray:
    """One row's feature cells as float32, or a ``SpecError`` naming the first bad cell."""
    try:
        return np.array(cells, dtype=np.float32)
    except ValueError:
        column = next(j for j, cell in enumerate(cells) if not _is_number(cell))
        raise SpecError(
            f"CSV row {number}, column {column + 1 + (column >= label_column)}: "
            f"{cells[column]!r:.40} is not a number (every column but the label must hold "
            "numbers)"
        ) from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _open_zip(data: bytes, what: str) -> zipfile.ZipFile:
    """The archive, its directory checked: member count, names, declared uncompressed size."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise SpecError(f"the {what} is not a readable zip file: {exc}") from None
    infos = archive.infolist()
    if len(infos) > MAX_DATA_FILES:
        raise SpecError(f"the {what} holds {len(infos):,} files; the limit is {MAX_DATA_FILES:,}")
    for info in infos:
        _check_member_name(info.filename)
    declared = sum(info.file_size for info in infos)
    if declared > MAX_DATA_UNPACKED_BYTES:
        raise SpecError(
            f"the {what} unpacks to {declared:,} bytes; the limit is "
            f"{MAX_DATA_UNPACKED_BYTES:,} (nothing was unpacked)"
        )
    return archive


def _check_member_name(name: str) -> None:
    """Refuse names that are absolute or climb out of the archive's folder."""
    parts = name.replace("\\", "/").split("/")
    absolute = name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":")
    if absolute or ".." in parts or "\0" in name:
        raise SpecError(
            f"the zip holds a file outside its own folder: {name!r:.80}; such files are refused"
        )


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, never more than its declared size."""
    try:
        with archive.open(info) as member:
            data = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as exc:
        raise SpecError(f"cannot read {info.filename!r:.80} in the zip: {exc}") from None
    if len(data) > info.file_size:
        raise SpecError(f"{info.filename!r:.80} in the zip is larger than it declares")
    return data


def _is_image(path: PurePosixPath) -> bool:
    hidden = any(part.startswith(".") for part in path.parts)
    return len(path.parts) > 1 and path.suffix.lower() in IMAGE_SUFFIXES and not hidden


def image_read_size(input_shape: Sequence[int]) -> tuple[tuple[int, int], str]:
    """``((height, width), mode)`` at which images are read for a design: its ``H×W`` (or
    ``s×s`` for ``[F]`` and ``[C, L]``: ``s = floor(sqrt)`` of the size), in colour ("RGB") for
    three channels, else grey ("L"); as the exported script reads them."""
    if len(input_shape) == 3:
        size = (input_shape[1], input_shape[2])
    else:
        side = max(1, math.isqrt(input_shape[-1]))
        size = (side, side)
    colour = len(input_shape) == 3 and input_shape[0] == 3
    return size, "RGB" if colour else "L"


def _read_zip(data: bytes, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, Any]:
    from PIL import Image

    archive = _open_zip(data, ".zip")
    files = []
    for info in sorted(archive.infolist(), key=lambda i: i.filename):
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if not info.is_dir() and _is_image(path) and not info.filename.startswith("__MACOSX"):
            files.append((path.parent.name, info))
    if not files:
        raise SpecError(
            f"no images ({', '.join(IMAGE_SUFFIXES)}) in class folders in the zip: put each "
            "class's images in a folder named after the class"
        )
    classes = sorted({name for name, _ in files})
    if len(classes) > MAX_DATA_CLASSES:
        raise SpecError(
            f"the zip has {len(classes)} class folders; the limit is {MAX_DATA_CLASSES}"
        )
    (height, width), mode = image_read_size(shape)
    channels = 3 if mode == "RGB" else 1
    _check_size(len(files), len(files) * channels * height * width)
    pixels = np.empty((len(files), height, width, channels), dtype=np.float32)
    budget = MAX_DECODED_PIXELS
    for i, (_, info) in enumerate(files):
        raw = _read_member(archive, info)
        try:
            with Image.open(io.BytesIO(raw), formats=_PIL_FORMATS) as image:
                w, h = image.size
                budget -= w * h
                if w * h > MAX_IMAGE_PIXELS:
                    raise SpecError(
                        f"{info.filename!r:.80} is {w}×{h} pixels; the limit is "
                        f"{MAX_IMAGE_PIXELS:,} pixels per image"
                    )
                if budget < 0:
                    raise SpecError(
                        f"the images hold more than {MAX_DECODED_PIXELS:,} pixels together "
                        f"(reached at {info.filename!r:.80})"
                    )
                image = image.convert(mode).resize((width, height), Image.Resampling.BILINEAR)
                pixels[i] = np.asarray(image, dtype=np.float32).reshape(height, width, -1)
        except Image.DecompressionBombError:
            raise SpecError(
                f"{info.filename!r:.80} declares an image of far more than "
                f"{MAX_IMAGE_PIXELS:,} pixels, the limit per image"
            ) from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise SpecError(f"cannot read {info.filename!r:.80} as an image: {exc}") from None
    pixels /= 255.0
    labels = np.array([classes.index(name) for name, _ in files])
    x = pixels[..., 0] if channels == 1 else pixels.transpose(0, 3, 1, 2)  # [N, h, w], [N, 3, h, w]
    return np.ascontiguousarray(x), labels, tuple(classes)


# --- checking and shaping ------------------------------------------------------------------------


def _check_size(samples: int, elements: int) -> None:
    if samples > MAX_DATA_SAMPLES:
        raise SpecError(f"the data has {samples:,} samples; the limit is {MAX_DATA_SAMPLES:,}")
    if elements > MAX_DATA_ELEMENTS:
        raise SpecError(
            f"the data holds {elements:,} values; the limit is {MAX_DATA_ELEMENTS:,}: "
            "use fewer or smaller samples"
        )


def _checked(
    x: np.ndarray, y: np.ndarray, classes: Any, shape: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    if len(x) != len(y):
        raise SpecError(f"x has {len(x):,} samples but y has {len(y):,} labels: one per sample")
    _check_size(len(x), x.size)
    if len(x) < MIN_SAMPLES:
        raise SpecError(f"the data has {len(x)} samples; at least {MIN_SAMPLES} are needed")
    x = np.asarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise SpecError("the samples hold NaN or infinite values")
    labels, names = as_labels(y)
    if classes is None:
        classes = names
    present = len(np.unique(labels))
    if present < 2:
        raise SpecError(f"the data has one class ({classes[0]!r:.40}); at least 2 are needed")
    return as_images(torch.from_numpy(x), shape), torch.from_numpy(labels), tuple(classes)


def as_labels(y: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class indices from 0 and the class names (see the module docstring)."""
    y = np.asarray(y).reshape(-1)
    try:
        numbers = y.astype(np.float64)
    except (ValueError, TypeError):  # names
        names, numbers = np.unique(y.astype(str), return_inverse=True)
        return _bounded(numbers.astype(np.int64), tuple(str(n) for n in names))
    if not np.isfinite(numbers).all():
        raise SpecError("the labels hold NaN or infinite values")
    if numbers.min() < 0 or not np.all(numbers == np.round(numbers)):
        values, numbers = np.unique(numbers, return_inverse=True)
        return _bounded(numbers.astype(np.int64), tuple(f"{v:g}" for v in values))
    top = int(numbers.max())
    if top >= MAX_DATA_CLASSES:
        raise SpecError(
            f"the labels go up to {top}: {top + 1} classes; the limit is {MAX_DATA_CLASSES}"
        )
    return numbers.astype(np.int64), tuple(str(i) for i in range(top + 1))


def _bounded(labels: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    if len(names) > MAX_DATA_CLASSES:
        raise SpecError(f"the labels name {len(names)} classes; the limit is {MAX_DATA_CLASSES}")
    return labels, names


def as_images(x: torch.Tensor, input_shape: tuple[int, ...]) -> torch.Tensor:
    """Samples as ``[N, c, h, w]`` images, or as they are if already the design's input."""
    if tuple(x.shape[1:]) == input_shape:
        return x
    if x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side == x.shape[1]:
            return x.reshape(len(x), 1, side, side)
        return x.reshape(len(x), 1, 1, -1)
    if x.ndim == 3:
        return x.unsqueeze(1)
    if x.ndim == 4 and x.shape[1] not in (1, 3, 4) and x.shape[-1] in (1, 3, 4):
        return x.permute(0, 3, 1, 2).contiguous()
    if x.ndim == 4:
        return x
    raise SpecError(
        f"cannot read samples of shape {tuple(x.shape[1:])} as images: use [N, H, W], "
        "[N, H, W, C], [N, C, H, W], [N, F] or the design's input shape"
    )


def check_input_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(input_shape)
    if len(shape) not in (1, 2, 3) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape
    ):
        raise SpecError(
            f"input_shape must be [C, H, W], [C, L] or [F] of positive integers, got {shape}"
        )
    return shape


def output_fix(spec: Any, num_classes: int) -> dict[str, Any] | None:
    """The edit that makes the design output one value per class, if one layer's field does it.

    The last layer, looking back through layers that keep the size (Identity, Dropout, Flatten,
    Softmax, LogSoftmax) that take the layer before them, must be a Linear: its
    ``out_features`` is set to ``num_classes``.

    Args:
        spec: the design.
        num_classes: the number of classes of the data.

    Returns:
        ``{"op": "set", "index": i, "field": "out_features", "value": num_classes}`` (an
        ``builder.edits.apply_fix`` action), or None if the design already outputs that many
        values or no single field would do it.
    """
    spec = load_spec(spec)
    layers = spec.to_dict()["layers"]
    for index in range(len(layers) - 1, -1, -1):
        layer = layers[index]
        if layer["type"] in _PASS_THROUGH and not layer.get("inputs"):
            continue
        if layer["type"] != "Linear" or layer.get("out_features") == num_classes:
            return None
        return {"op": "set", "index": index, "field": "out_features", "value": num_classes}
    return None


# --- the split and resizing ----------------------------------------------------------------------


def split_indices(n: int, seed: int, test_fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the training and held-out samples: a seeded random permutation."""
    if isinstance(test_fraction, bool) or not 0 < test_fraction < 1:
        raise SpecError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    n_test = min(n - 1, max(1, round(n * test_fraction)))
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[n_test:], order[:n_test]


def resize(images: torch.Tensor, input_shape: Sequence[int]) -> torch.Tensor:
    """A batch of ``[N, c, h, w]`` images as ``[N, *input_shape]`` (see the module docstring)."""
    if len(input_shape) == 3:
        channels, height, width = input_shape
        if images.shape[1] not in (1, channels):
            images = images.mean(1, keepdim=True)
        if (height, width) != tuple(images.shape[-2:]):
            images = _bilinear(images, (height, width))
        return images.expand(-1, channels, -1, -1).contiguous()
    if images.shape[1] != 1:
        images = images.mean(1, keepdim=True)
    if len(input_shape) == 2:
        channels, length = input_shape
        rows = images.reshape(len(images), 1, -1)  # the pixels row by row
        if length != rows.shape[-1]:
            rows = F.interpolate(rows, size=length, mode="linear", align_corners=False)
        return rows.expand(-1, channels, -1).contiguous()
    (features,) = input_shape
    side = math.isqrt(features)
    if (side, side) != tuple(images.shape[-2:]):
        images = _bilinear(images, (side, side))
    flat = images.reshape(len(images), side * side)
    return F.pad(flat, (0, features - side * side))


def _bilinear(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False)


class Split:
    """A dataset split with the seed and standardized with the training split's mean and std;
    ``batch(indices)`` resizes just those samples to the design's input.

    Attributes:
        dataset: the samples as loaded.
        train_idx: indices of the training samples.
        test_idx: indices of the held-out samples.
    """

    def __init__(
        self, dataset: Dataset, input_shape: Sequence[int], seed: int, test_fraction: float
    ) -> None:
        self.dataset = dataset
        self.input_shape = tuple(input_shape)
        self.train_idx, self.test_idx = split_indices(len(dataset.labels), seed, test_fraction)
        std, mean = torch.std_mean(dataset.images[self.train_idx])
        self.mean, self.std = mean, std if std > 0 else torch.ones_like(std)
        self.labels = dataset.labels
        self.ready = tuple(dataset.images.shape[1:]) == self.input_shape

    def batch(
        self, indices: torch.Tensor, device: torch.device | str = "cpu"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The samples at ``indices``, standardized and resized (standardizing a batch gives
        the values standardizing the whole set would: no copy of the set is made)."""
        x = (self.dataset.images[indices] - self.mean) / self.std
        if not self.ready:
            x = resize(x, self.input_shape)
        return x.to(device), self.labels[indices].to(device)


def digits_dataset(
    input_shape: Sequence[int], seed: int = 0, test_fraction: float = 0.25
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The handwritten digits, shaped for a design, split into training and held-out sets.

    Args:
        input_shape: one sample's shape, ``[C, H, W]``, ``[C, L]`` or ``[F]`` (a spec's
            ``input_shape``).
        seed: seeds the split.
        test_fraction: the held-out share (the rest is for training).

    Returns:
        ``(x_train, y_train, x_test, y_test)``: float32 ``[N, *input_shape]`` images
        (standardized with the training split's mean and std) and int64 labels 0-9.

    Raises:
        SpecError: for a bad shape or fraction, or a set above ``MAX_SIGNAL_ELEMENTS`` elements
            (training itself resizes one batch at a time and has no such limit).
    """
    shape = check_input_shape(input_shape)
    data = Split(digits(), shape, seed, test_fraction)
    total = len(data.labels) * math.prod(shape)
    if total > MAX_SIGNAL_ELEMENTS:
        raise SpecError(
            f"the digits at {'×'.join(map(str, shape))} would take {total:,} elements; "
            f"the limit is {MAX_SIGNAL_ELEMENTS:,}"
        )
    x_train, y_train = data.batch(data.train_idx)
    x_test, y_test = data.batch(data.test_idx)
    return x_train, y_train, x_test, y_test
