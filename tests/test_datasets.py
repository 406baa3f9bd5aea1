"""Uploaded training data (builder.datasets): each format against the file it was made from.

Oracles: the arrays written into the files (numpy), images of known constant pixels drawn with
Pillow, torch's own permutation for the seeded split and ``F.interpolate`` for the resizing, the
zip's bytes patched by hand for a bomb, and the file system before and after for hostile names.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from builder import SpecError, analyze, edits
from builder import datasets as ds
from builder.limits import (
    MAX_DATA_CLASSES,
    MAX_DATA_UNPACKED_BYTES,
    MAX_DATA_UPLOAD_BYTES,
    MAX_IMAGE_PIXELS,
)
from builder.presets import DEFAULT_PRESET, preset

rng = np.random.default_rng(0)


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def png(value: int, size: tuple[int, int] = (12, 10), mode: str = "L") -> bytes:
    buffer = io.BytesIO()
    colour = value if mode == "L" else (value, value, value)
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# --- each format ---------------------------------------------------------------------------------


def test_npz_loads_as_grey_images_with_its_labels():
    x = rng.random((40, 8, 8)).astype(np.float32)
    y = np.arange(40) % 4
    data = ds.load_upload("mine.npz", npz_bytes(x=x, y=y), [1, 8, 8])
    assert data.format == "npz" and data.name == "mine.npz"
    assert data.images.shape == (40, 1, 8, 8)
    assert torch.equal(data.images[:, 0], torch.from_numpy(x))
    assert data.labels.tolist() == y.tolist()
    assert data.classes == ("0", "1", "2", "3")


def test_npz_channels_last_and_named_labels():
    x = rng.random((12, 5, 6, 3)).astype(np.float32)
    y = np.array(["dog", "cat", "bird"] * 4)
    data = ds.load_upload("a.npz", npz_bytes(x=x, y=y), [3, 5, 6])
    assert data.images.shape == (12, 3, 5, 6)
    assert torch.equal(data.images, torch.from_numpy(x).permute(0, 3, 1, 2))
    assert data.classes == ("bird", "cat", "dog")  # sorted
    assert [data.classes[k] for k in data.labels] == y.tolist()


def test_csv_with_a_label_header_anywhere():
    x = rng.integers(0, 255, (30, 16)).astype(np.float32)
    y = np.arange(30) % 3
    header = ",".join([*(f"p{i}" for i in range(5)), "label", *(f"p{i}" for i in range(5, 16))])
    lines = [header]
    for row, label in zip(x, y):
        cells = [f"{v:g}" for v in row]
        lines.append(",".join([*cells[:5], str(label), *cells[5:]]))
    data = ds.load_upload("pixels.csv", "\n".join(lines).encode(), [1, 4, 4])
    assert data.images.shape == (30, 1, 4, 4)  # 16 columns: a 4×4 image
    assert torch.equal(data.images.reshape(30, 16), torch.from_numpy(x))
    assert data.labels.tolist() == y.tolist()


def test_csv_without_a_header_takes_the_first_column_as_labels():
    x = rng.random((20, 7)).round(4)
    table = np.column_stack([np.arange(20) % 2, x])
    text = "\n".join(",".join(f"{v:g}" for v in row) for row in table)
    data = ds.load_upload("f.csv", text.encode(), [7])
    assert data.images.shape == (20, 7)  # already the design's input shape
    assert np.allclose(data.images.numpy(), x.astype(np.float32))
    assert data.labels.tolist() == (np.arange(20) % 2).tolist()


def test_zip_of_class_folders_read_at_the_designs_size():
    members, expected = {}, []
    for k in range(15):
        cls = ("cats", "dogs", "ants")[k % 3]
        members[f"set/{cls}/{k:03}.png"] = png(10 * k)
        expected.append((f"set/{cls}/{k:03}.png", cls, 10 * k))
    members["set/notes.txt"] = b"not an image"
    members["__MACOSX/set/cats/._001.png"] = b"junk"
    data = ds.load_upload("pets.zip", zip_bytes(members), [1, 6, 7])
    expected.sort()  # read in path order
    assert data.format == "folder" and data.classes == ("ants", "cats", "dogs")
    assert data.images.shape == (15, 1, 6, 7)
    for image, label, (_, cls, value) in zip(data.images, data.labels, expected):
        assert data.classes[label] == cls
        assert torch.allclose(image, torch.full((1, 6, 7), value / 255))


def test_zip_in_colour_for_a_three_channel_design():
    members = {f"{c}/{i}.png": png(50 + i, mode="RGB") for c in "ab" for i in range(5)}
    data = ds.load_upload("c.zip", zip_bytes(members), [3, 4, 4])
    assert data.images.shape == (10, 3, 4, 4)


@pytest.mark.parametrize("seed", [0, 7])
def test_split_by_seed_standardized_and_resized_to_the_input(seed):
    x = rng.random((50, 8, 8)).astype(np.float32)
    data = ds.load_upload("d.npz", npz_bytes(x=x, y=np.arange(50) % 5), [2, 16, 16])
    split = ds.Split(data, (2, 16, 16), seed, 0.2)
    order = torch.randperm(50, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(split.test_idx, order[:10]) and torch.equal(split.train_idx, order[10:])
    xb, yb = split.batch(split.test_idx)
    train = torch.from_numpy(x)[order[10:]]
    std, mean = torch.std_mean(train)
    oracle = F.interpolate(
        (torch.from_numpy(x)[order[:10]].unsqueeze(1) - mean) / std,
        size=(16, 16),
        mode="bilinear",
        align_corners=False,
    ).expand(-1, 2, -1, -1)
    assert xb.shape == (10, 2, 16, 16)
    assert torch.allclose(xb, oracle, atol=1e-6)
    assert yb.tolist() == (order[:10] % 5).tolist()


def test_digits_are_a_dataset_too():
    data = ds.digits()
    assert data.images.shape == (1797, 1, 8, 8) and data.num_classes == 10


# --- hostile or wrong input ----------------------------------------------------------------------


def _bomb() -> bytes:
    """A 1 KB zip whose directory declares a member of 3 GB (patched by hand)."""
    data = bytearray(zip_bytes({"a/1.png": png(0), "b/2.png": png(1)}))
    declared = struct.pack("<I", 3_000_000_000)
    central = data.find(b"PK\x01\x02")
    data[central + 24 : central + 28] = declared  # uncompressed size in the central directory
    local = data.find(b"PK\x03\x04")
    data[local + 22 : local + 26] = declared
    return bytes(data)


def test_zip_bomb_is_refused_by_its_declared_size_before_anything_is_unpacked(monkeypatch):
    bomb = _bomb()
    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(
        zipfile.ZipFile, "open", lambda self, *a, **k: opened.append(a) or real_open(self, *a, **k)
    )
    with pytest.raises(SpecError, match=f"3,0.*limit is {MAX_DATA_UNPACKED_BYTES:,}"):
        ds.load_upload("bomb.zip", bomb, [1, 8, 8])
    assert opened == []
    with pytest.raises(SpecError, match="unpacks to"):
        ds.load_upload("bomb.npz", bomb, [1, 8, 8])
    assert opened == []


@pytest.mark.parametrize(
    "name", ["../evil/x.png", "/etc/evil/x.png", "a/../../x.png", "..\\evil\\x.png", "C:/x/y.png"]
)
def test_names_that_climb_out_refuse_the_zip_and_nothing_is_written(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = set(os.listdir(tmp_path.parent))
    members = {"a/1.png": png(0), "b/2.png": png(1), name: png(2)}
    with pytest.raises(SpecError, match="outside its own folder"):
        ds.load_upload("t.zip", zip_bytes(members), [1, 8, 8])
    assert list(tmp_path.iterdir()) == []
    assert set(os.listdir(tmp_path.parent)) == before


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header declares width × height (its pixels are never there)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_an_image_declaring_huge_dimensions_is_refused_before_decoding():
    for side, message in ((3000, "3000×3000 pixels"), (30_000, "far more than")):
        members = {"a/1.png": png(0), "b/2.png": _png_header(side, side)}
        with pytest.raises(SpecError, match=f"{message}.*{MAX_IMAGE_PIXELS:,} pixels"):
            ds.load_upload("huge.zip", zip_bytes(members), [1, 8, 8])


def test_a_file_that_is_not_an_image_is_named():
    members = {"a/1.png": png(0), "b/2.png": b"not a png at all"}
    with pytest.raises(SpecError, match=r"b/2\.png"):
        ds.load_upload("bad.zip", zip_bytes(members), [1, 8, 8])


WRONG_FILES = [
    ("w.csv", b"label,a,b\n1,2,3\n0,4\n", "row 3 has 2 columns; row 2 has 3"),
    ("w.csv", b"label\n1\n0\n", "at least one feature column"),
    ("n.csv", b"label,a,b\n1,2,3\n0,x,5\n", "row 3, column 2: 'x' is not a number"),
    ("e.csv", b"", "empty"),
    ("u.csv", b"\xff\xfe\x00bad", "not UTF-8"),
    ("o.csv", b"".join(b"1,%d,2\n" % i for i in range(20)), "one class"),
    ("few.csv", b"0,1\n1,2\n", "at least 10"),
    ("nan.csv", b"".join(b"%d,nan\n" % (i % 2) for i in range(20)), "NaN"),
    ("x.txt", b"1,2", "must be an .npz, a .csv or a .zip"),
    ("z.zip", b"PK not really", "not a readable zip"),
    ("z.zip", zip_bytes({"readme.txt": b"hi"}), "no images"),
    ("one.zip", zip_bytes({f"a/{i}.png": png(i) for i in range(12)}), "one class"),
]


@pytest.mark.parametrize(
    ("name", "data", "message"), WRONG_FILES, ids=[m for _, _, m in WRONG_FILES]
)
def test_wrong_files_get_clear_messages(name, data, message):
    with pytest.raises(SpecError, match=message):
        ds.load_upload(name, data, [1, 8, 8])


def test_npz_problems_get_clear_messages():
    x = rng.random((20, 4, 4))
    cases = [
        (npz_bytes(x=x, y=np.arange(19) % 2), "x has 20 samples but y has 19 labels"),
        (npz_bytes(x=x), "must hold arrays x and y; it holds x"),
        (npz_bytes(x=x, y=np.array([{"a": 1}] * 20, dtype=object)), "holds Python objects"),
        (npz_bytes(x=np.array(["a"] * 20), y=np.arange(20) % 2), "x must hold numbers"),
        (npz_bytes(x=x, y=np.zeros(20)), "one class"),
        (npz_bytes(x=x, y=np.arange(20) * 10), f"the limit is {MAX_DATA_CLASSES}"),
        (npz_bytes(x=x, y=np.arange(20).reshape(4, 5)), "y must be"),
    ]
    for data, message in cases:
        with pytest.raises(SpecError, match=message):
            ds.load_upload("p.npz", data, [1, 4, 4])


def test_an_oversized_upload_is_refused_unread():
    with pytest.raises(SpecError, match=f"limit is {MAX_DATA_UPLOAD_BYTES:,}"):
        ds.load_upload("big.csv", b"0" * (MAX_DATA_UPLOAD_BYTES + 1), [1, 8, 8])


# --- the one-click output fix --------------------------------------------------------------------


def test_output_fix_sets_the_last_linear_to_the_number_of_classes():
    design = preset(DEFAULT_PRESET)
    action = ds.output_fix(design, 3)
    fixed = edits.apply_fix(design, action)
    assert analyze(fixed).output_shape == (3,)
    assert [layer["type"] for layer in fixed["layers"]] == [
        layer["type"] for layer in design["layers"]
    ]
    assert ds.output_fix(fixed, 3) is None  # already right


def test_output_fix_looks_back_through_softmax_and_dropout():
    design = {
        "input_shape": [1, 8, 8],
        "layers": [
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 10},
            {"type": "Dropout"},
            {"type": "LogSoftmax", "dim": 1},
        ],
    }
    fixed = edits.apply_fix(design, ds.output_fix(design, 4))
    assert analyze(fixed).output_shape == (4,)


def test_no_output_fix_when_the_design_does_not_end_in_a_linear():
    design = {
        "input_shape": [1, 8, 8],
        "layers": [{"type": "Conv2d", "out_channels": 3, "kernel_size": 3}],
    }
    assert ds.output_fix(design, 4) is None


def test_an_npz_array_declaring_more_than_it_holds_is_refused_before_allocation(monkeypatch):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**4)}
    )
    members = {"x.npy": header.getvalue() + b"\0" * 64, "y.npy": b""}
    y = io.BytesIO()
    np.save(y, np.arange(10) % 2)
    members["y.npy"] = y.getvalue()
    data = zip_bytes(members)
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("np.load was reached"))
    with pytest.raises(SpecError, match=r"x declares \(1000000, 10000\) of float64"):
        ds.load_upload("liar.npz", data, [1, 8, 8])
