"""generate_training_code / generate_training_notebook: the take-home script and notebook.

The oracles: the app's own training run (``builder.training.train`` on one thread gives the
same losses and accuracies epoch by epoch as the script on one thread), the app's
``digits_dataset`` (the script's data and split, tensor for tensor), the arrays and images
written to temp files (the loaders), ruff with the project's settings, and an AST comparison
(a hostile path changes one string constant and nothing else).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import os
import re
import runpy
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
import torch
from PIL import Image

from builder import SpecError, build_model, load_spec
from builder import training as tr
from builder.devices import pick_device
from builder.presets import preset
from builder.rng import intra_op_threads
from builder.training import DEFAULT_LR, digits_dataset, train
from builder.training_code import generate_training_code, generate_training_notebook

ROOT = Path(__file__).resolve().parents[1]
EPOCH = re.compile(
    r"epoch (\d+)/(\d+): train loss (\d+\.\d{4}), train accuracy (\d+\.\d)%, "
    r"test loss (\d+\.\d{4}), test accuracy (\d+\.\d)%, \d+\.\d s"
)
FINAL = re.compile(r"test accuracy: (\d+\.\d)%")
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

TINY_GRAPH = {  # a residual block and a concat, 10 outputs, at the digits' own 8×8
    "name": "TinyRes",
    "input_shape": [1, 8, 8],
    "seed": 3,
    "layers": [
        {"type": "Conv2d", "name": "conv1", "out_channels": 8, "kernel_size": 3, "padding": 1},
        {"type": "BatchNorm2d"},
        {"type": "ReLU"},
        {"type": "Conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
        {"type": "BatchNorm2d"},
        {"type": "Add", "inputs": ["bn2", "relu1"]},
        {"type": "ReLU"},
        {"type": "Conv2d", "name": "branch", "inputs": ["relu2"], "out_channels": 4,
         "kernel_size": 1},
        {"type": "Concat", "inputs": ["relu2", "branch"]},
        {"type": "Flatten"},
        {"type": "Linear", "out_features": 10},
    ],
}  # fmt: skip


def flat(features: int, classes: int = 10, *tail: dict) -> dict[str, Any]:
    return {
        "name": "Flat",
        "input_shape": [features],
        "layers": [
            {"type": "Linear", "out_features": 16},
            {"type": "ReLU"},
            {"type": "Dropout", "p": 0.1},
            {"type": "Linear", "out_features": classes},
            *tail,
        ],
    }


SEQUENCE = {
    "name": "Seq",
    "input_shape": [2, 50],
    "layers": [
        {"type": "Conv1d", "out_channels": 4, "kernel_size": 3},
        {"type": "ReLU"},
        {"type": "Flatten"},
        {"type": "Linear", "out_features": 10},
    ],
}
IMAGE_1x8 = {"input_shape": [1, 8, 8], "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 10}]}  # fmt: skip
LOG_SOFTMAX = flat(64, 10, {"type": "LogSoftmax", "dim": 1})
SOFTMAX = flat(64, 10, {"type": "Softmax", "dim": 1})


# --- helpers ---------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_script(path: Path, *args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        env=ONE_THREAD,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


def load(source: str, tmp_path: Path, name: str = "take_home.py") -> dict[str, Any]:
    """The generated script's functions and settings (its ``main`` is not run)."""
    return runpy.run_path(str(write(tmp_path, name, source)), run_name="take_home")


def epochs_of(lines: list[str]) -> list[tuple[str, ...]]:
    """(train loss, train accuracy, test loss, test accuracy) as printed, per epoch line."""
    found = [EPOCH.fullmatch(line) for line in lines]
    return [m.groups()[2:] for m in found if m]


def app_epochs(spec: Any, epochs: int, **options: Any) -> list[tuple[str, ...]]:
    """The app's run, printed as the script prints it."""
    result = train(spec, epochs=epochs, num_threads=1, **options)
    assert result.stopped_reason == "done"
    return [
        (
            f"{e.train_loss:.4f}",
            f"{100 * e.train_accuracy:.1f}",
            f"{e.test_loss:.4f}",
            f"{100 * e.test_accuracy:.1f}",
        )
        for e in result.epochs
    ]


def final_accuracy(lines: list[str]) -> float:
    match = FINAL.fullmatch(lines[-1])
    assert match, lines[-1]
    return float(match.group(1))


def ruff(*args: str | Path) -> subprocess.CompletedProcess:
    command = ["ruff", *map(str, args), "--no-cache", "--config", str(ROOT / "pyproject.toml")]
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def lenet_app() -> list[tuple[str, ...]]:
    return app_epochs(preset(), 3)


# --- the article's LeNet, as a script and as a notebook -------------------------------------------


def test_lenet_script_reaches_90_percent_in_3_epochs_as_the_app_does(tmp_path, lenet_app):
    path = write(tmp_path, "train_net.py", generate_training_code(preset()))
    began = time.perf_counter()
    lines = run_script(path, "--device", "cpu")
    seconds = time.perf_counter() - began
    assert lines[0] == "device: cpu"
    assert lines[1] == "data: 1348 samples to train on, 449 held out"  # 1,797 less round(449.25)
    assert [EPOCH.fullmatch(line).group(1, 2) for line in lines[2:5]] == [
        ("1", "3"),
        ("2", "3"),
        ("3", "3"),
    ]
    assert len(lines) == 6
    assert epochs_of(lines) == lenet_app  # the same run, number for number
    assert final_accuracy(lines) == float(lenet_app[-1][3]) >= 90.0
    assert seconds < 60


def test_notebook_cells_run_in_order_and_end_with_the_accuracy(lenet_app):
    text = generate_training_notebook(preset())
    book = nbformat.reads(text, as_version=4)
    nbformat.validate(book)
    kinds = [cell.cell_type for cell in book.cells]
    assert kinds == ["markdown", "code"] * 6
    headings = [cell.source.splitlines()[0] for cell in book.cells if cell.cell_type == "markdown"]
    assert headings[1:] == ["## The model", "## The device", "## The data", "## Training",
                            "## Evaluation"]  # fmt: skip
    namespace: dict[str, Any] = {"__name__": "notebook"}
    out = io.StringIO()
    with torch.random.fork_rng(), intra_op_threads(1), contextlib.redirect_stdout(out):
        for cell in book.cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, "<cell>", "exec"), namespace)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("device: ")
    assert len(epochs_of(lines)) == 3
    assert final_accuracy(lines) >= 90.0
    if namespace["device"].type == "cpu":
        assert epochs_of(lines) == lenet_app
    assert generate_training_notebook(preset()) == text  # stable cell ids: same file each time
    assert generate_training_code(preset(), notebook=True) == text


def test_graph_design_script_runs_as_the_app(tmp_path):
    source = generate_training_code(TINY_GRAPH, batch_size=32, lr=0.01)
    assert "self.branch" in source and "torch.cat" in source
    lines = run_script(
        write(tmp_path, "train_graph.py", source), "--device", "cpu", "--epochs", "1"
    )
    assert epochs_of(lines) == app_epochs(TINY_GRAPH, 1, batch_size=32, lr=0.01)
    assert final_accuracy(lines) > 50.0  # chance is 10 %


# --- same data, same loss, same optimizer as the app ---------------------------------------------


@pytest.mark.parametrize(
    "spec", [preset(), preset("MLP"), SEQUENCE, IMAGE_1x8], ids=["lenet", "784", "seq", "8x8"]
)
def test_digits_and_split_are_the_apps(spec, tmp_path):
    ns = load(generate_training_code(spec, seed=5, test_fraction=0.3), tmp_path)
    data = ns["Data"](*ns["load_data"](), ns["SEED"], ns["TEST_FRACTION"])
    x_train, y_train, x_test, y_test = digits_dataset(spec["input_shape"], 5, 0.3)
    cpu = torch.device("cpu")
    for (x, y), (x_app, y_app) in (
        (data.batch(data.train_idx, cpu), (x_train, y_train)),
        (data.batch(data.test_idx, cpu), (x_test, y_test)),
    ):
        assert torch.equal(x, x_app)
        assert torch.equal(y, y_app)


@pytest.mark.parametrize(("spec", "kind"), [(flat(64), "logits"), (LOG_SOFTMAX, "log_probs"),
                                            (SOFTMAX, "probs")])  # fmt: skip
def test_loss_is_the_apps(spec, kind, tmp_path):
    assert tr._loss_kind(load_spec(spec)) == kind
    ns = load(generate_training_code(spec), tmp_path)
    out = torch.randn(7, 10)
    if kind == "log_probs":
        out = out.log_softmax(1)
    elif kind == "probs":
        out = out.softmax(1)
        out[0, 3] = 0.0  # a probability of exactly 0 stays finite
    y = torch.arange(7) % 10
    for reduction in ("mean", "sum"):
        mine = ns["loss_fn"](out, y, reduction)
        assert torch.isfinite(mine)
        assert torch.equal(mine, tr._loss(out, y, kind, reduction=reduction))


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "sgd_momentum"])
def test_optimizer_and_settings_are_the_apps(optimizer, tmp_path):
    ns = load(generate_training_code(preset(), optimizer=optimizer, epochs=7, seed=11), tmp_path)
    assert ns["LR"] == DEFAULT_LR[optimizer]
    assert (ns["EPOCHS"], ns["SEED"], ns["BATCH_SIZE"]) == (7, 11, tr.DEFAULT_BATCH_SIZE)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    model[0].requires_grad_(False)  # frozen: left out, as the app leaves it out
    mine = ns["make_optimizer"](model, 0.125)
    theirs = tr._optimizer(optimizer, [p for p in model.parameters() if p.requires_grad], 0.125)
    assert type(mine) is type(theirs)
    assert [p for g in mine.param_groups for p in g["params"]] == list(model[1].parameters())
    strip = [{k: v for k, v in g.items() if k != "params"} for g in mine.param_groups]
    assert strip == [{k: v for k, v in g.items() if k != "params"} for g in theirs.param_groups]
    lr = load(generate_training_code(preset(), optimizer=optimizer, lr=2), tmp_path, "lr.py")["LR"]
    assert lr == 2.0 and type(lr) is float


def test_weights_are_the_apps(tmp_path):
    ns = load(generate_training_code(TINY_GRAPH), tmp_path)
    torch.manual_seed(ns["MODEL_SEED"])
    mine = ns["TinyRes"]().state_dict()
    theirs = build_model(TINY_GRAPH).state_dict()
    assert list(mine) == list(theirs)
    assert all(torch.equal(mine[k], theirs[k]) for k in theirs)


@pytest.mark.parametrize(("cuda", "mps", "kind"), [(True, True, "cuda"), (False, True, "mps"),
                                                    (False, False, "cpu")])  # fmt: skip
def test_device_chooser_is_the_apps(cuda, mps, kind, tmp_path, monkeypatch):
    ns = load(generate_training_code(preset()), tmp_path)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "Test GPU")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert pick_device().kind == kind == ns["pick_device"]().type
    assert ("Test GPU" in pick_device().label) is cuda
    assert ns["pick_device"]("cpu").type == "cpu"


# --- other data: npz, CSV, image folders ---------------------------------------------------------


def stripes(n_per_class: int = 60, classes: int = 3, side: int = 6, seed: int = 0):
    """Class k lights rows 2k and 2k+1 of a side×side image, plus noise: easy to learn."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n_per_class)
    x = rng.uniform(0, 50, size=(len(y), side, side))
    for k in range(classes):
        x[y == k, 2 * k : 2 * k + 2, :] += 200
    return x.astype(np.uint8), y


def test_npz_loader_reads_the_arrays(tmp_path):
    x, y = stripes()
    ns_path = tmp_path / "d.npz"
    design = {"input_shape": [1, 6, 6], "layers": [{"type": "Flatten"},
                                                    {"type": "Linear", "out_features": 3}]}  # fmt: skip
    ns = load(
        generate_training_code(design, data={"format": "npz", "path": str(ns_path)}), tmp_path
    )
    np.savez(ns_path, x=x, y=y)
    images, labels = ns["load_data"](str(ns_path))
    assert torch.equal(images, torch.tensor(x, dtype=torch.float32).unsqueeze(1))
    assert torch.equal(labels, torch.tensor(y))
    rgb = np.stack([x, x // 2, x // 3], axis=-1)  # channels last, as image files store them
    np.savez(ns_path, x=rgb, y=np.array(["dog", "cat", "emu"])[y])
    images, labels = ns["load_data"](str(ns_path))
    assert torch.equal(images, torch.tensor(rgb, dtype=torch.float32).permute(0, 3, 1, 2))
    assert torch.equal(labels, torch.tensor(np.array([1, 0, 2])[y]))  # cat, dog, emu
    np.savez(ns_path, x=x.reshape(len(x), -1), y=y - 1)  # flat rows; labels -1, 0, 1
    images, labels = ns["load_data"](str(ns_path))
    assert torch.equal(images, torch.tensor(x, dtype=torch.float32).unsqueeze(1))
    assert torch.equal(labels, torch.tensor(y))
    np.savez(ns_path, x=x, y=y + 5)
    with pytest.raises(SystemExit, match="out_features to 8"):
        ns["load_data"](str(ns_path))


def test_npz_script_trains_on_the_file(tmp_path):
    x, y = stripes()
    np.savez(tmp_path / "stripes.npz", x=x, y=y)
    design = flat(36, 3)
    source = generate_training_code(design, epochs=5, data={"format": "npz", "path": "unused.npz"})
    path = write(tmp_path, "train_npz.py", source)
    lines = run_script(path, "--device", "cpu", "--data", str(tmp_path / "stripes.npz"))
    assert lines[1] == f"data: {180 - 45} samples to train on, 45 held out"
    assert len(epochs_of(lines)) == 5
    assert final_accuracy(lines) >= 90.0


@pytest.mark.parametrize("header", ["", "label_last", "names", "numbered"])
def test_csv_loader_reads_the_rows(header, tmp_path, monkeypatch):
    x, y = stripes(n_per_class=5)
    pixels = x.reshape(len(x), -1)
    names = np.array(["a", "b", "c"])[y] if header == "names" else y
    rows = [[str(v) for v in [names[i], *pixels[i]]] for i in range(len(y))]
    head = ["label", *((str if header == "numbered" else "p{}".format)(i) for i in range(36))]
    if header == "label_last":
        rows = [[*row[1:], row[0]] for row in rows]
        head = [*head[1:], "label"]
    text = "\n".join(",".join(row) for row in ([head] if header else []) + rows) + "\n"
    path = write(tmp_path, "d.csv", text)
    ns = load(
        generate_training_code(flat(36, 3), data={"format": "csv", "path": "d.csv"}), tmp_path
    )
    images, labels = ns["load_data"](str(path))
    assert torch.equal(images, torch.tensor(pixels, dtype=torch.float32))  # the design's [36]
    assert torch.equal(labels, torch.tensor(y))
    argv = ["train.py", "--data", str(path), "--epochs", "1", "--device", "cpu"]
    monkeypatch.setattr(sys, "argv", argv)
    out = io.StringIO()
    with intra_op_threads(1), torch.random.fork_rng(), contextlib.redirect_stdout(out):
        ns["main"]()
    lines = out.getvalue().splitlines()
    assert lines[1] == "data: 11 samples to train on, 4 held out"  # round(15 · 0.25) = 4
    assert FINAL.fullmatch(lines[-1])


def test_folder_and_zip_loaders_read_the_images(tmp_path):
    x, y = stripes(n_per_class=3)
    names = ["bird", "ant", "cow"]  # numbered in sorted order: ant 0, bird 1, cow 2
    root = tmp_path / "images"
    archive = zipfile.ZipFile(tmp_path / "images.zip", "w")
    for i, (image, label) in enumerate(zip(x, y)):
        folder = root / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        Image.fromarray(image, mode="L").save(buffer, format="PNG")
        (folder / f"{i:02d}.png").write_bytes(buffer.getvalue())
        archive.writestr(f"images/{names[label]}/{i:02d}.png", buffer.getvalue())
    (root / "ant" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.png").write_bytes(buffer.getvalue())
    archive.writestr("__MACOSX/images/ant/._00.png", b"junk")
    archive.close()
    design = {"input_shape": [1, 6, 6], "layers": [{"type": "Flatten"},
                                                    {"type": "Linear", "out_features": 3}]}  # fmt: skip
    ns = load(generate_training_code(design, data={"format": "folder", "path": "images"}), tmp_path)
    order = sorted(range(len(y)), key=lambda i: (names[y[i]], i))  # by path
    expected_x = torch.tensor(x[order], dtype=torch.float32).unsqueeze(1) / 255.0
    expected_y = torch.tensor([sorted(names).index(names[y[i]]) for i in order])
    for source in (root, tmp_path / "images.zip"):
        images, labels = ns["load_data"](str(source))
        assert torch.allclose(images, expected_x, atol=1e-6)
        assert torch.equal(labels, expected_y)


def test_folder_loader_puts_colour_channels_first_even_for_tiny_images(tmp_path):
    """A 3×4×4 design: RGB images of height 4 stay [N, 3, 4, 4] with each channel in place."""
    rgb = np.zeros((4, 4, 3), dtype=np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 255, 128, 0
    for name in ("a", "b"):
        (tmp_path / "rgb" / name).mkdir(parents=True)
        Image.fromarray(rgb, mode="RGB").save(tmp_path / "rgb" / name / "0.png")
    design = {"input_shape": [3, 4, 4], "layers": [{"type": "Flatten"},
                                                    {"type": "Linear", "out_features": 2}]}  # fmt: skip
    ns = load(generate_training_code(design, data={"format": "folder", "path": "rgb"}), tmp_path)
    images, labels = ns["load_data"](str(tmp_path / "rgb"))
    assert sorted(labels.tolist()) == [0, 1]
    assert tuple(images.shape) == (2, 3, 4, 4)
    expected = torch.tensor([1.0, 128 / 255, 0.0]).view(1, 3, 1, 1).expand(2, 3, 4, 4)
    assert torch.allclose(images, expected, atol=1e-6)


# --- code quality and safety ----------------------------------------------------------------------


def test_scripts_and_notebooks_are_ruff_clean(tmp_path):
    designs = [preset(), preset("MLP"), SEQUENCE, TINY_GRAPH, LOG_SOFTMAX, SOFTMAX]
    formats = ["digits", "npz", "csv", "folder"]
    paths = ["data.npz", "my data/ö.csv", "C:\\Users\\me\\x.zip", "it's.npz", 'say "hi".csv',
             "long/" * 30 + "x.npz"]  # fmt: skip
    count = 0
    for i, spec in enumerate(designs):
        for j, fmt in enumerate(formats):
            data = "digits" if fmt == "digits" else {"format": fmt, "path": paths[(i + j) % 6]}
            if fmt == "digits" or i == 0:
                optimizer = tr.OPTIMIZERS[(i + j) % 3]
                source = generate_training_code(spec, data=data, optimizer=optimizer)
                ast.parse(source)
                write(tmp_path, f"s{count}.py", source)
                write(tmp_path, f"n{count}.ipynb", generate_training_notebook(spec, data=data))
                count += 1
    check = ruff("check", tmp_path)
    assert check.returncode == 0, check.stdout[-3000:]
    formatted = ruff("format", "--check", tmp_path)
    assert formatted.returncode == 0, formatted.stdout[-3000:]


class _Rename(ast.NodeTransformer):
    def __init__(self, old: str) -> None:
        self.old = old

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return ast.Constant("PATH") if node.value == self.old else node


@pytest.mark.parametrize(
    "path",
    ['x"; import os; os.system("echo pwned") #', "'''\\", "a\\nb", "{open('x')}", "$CLASS"],
)
def test_a_hostile_path_is_one_string_constant(path):
    hostile = generate_training_code(preset(), data={"format": "npz", "path": path})
    plain = generate_training_code(preset(), data={"format": "npz", "path": "plain.npz"})
    assert ast.dump(_Rename(path).visit(ast.parse(hostile))) == ast.dump(
        _Rename("plain.npz").visit(ast.parse(plain))
    )


def test_a_hostile_name_never_reaches_the_code():
    spec = copy.deepcopy(preset())
    spec["name"] = 'Evil"""; import os  # '
    source = generate_training_code(spec)
    assert "import os" not in source and 'Evil"""' not in source
    assert "class EvilImportOs(nn.Module):" in source


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"optimizer": "adamw"}, "optimizer must be one of"),
        ({"lr": 0}, "lr must be"),
        ({"lr": float("nan")}, "lr must be"),
        ({"lr": True}, "lr must be"),
        ({"epochs": 0}, "epochs must be"),
        ({"batch_size": 0}, "batch_size must be"),
        ({"seed": -1}, "seed must be"),
        ({"test_fraction": 1}, "test_fraction"),
        ({"test_fraction": float("nan")}, "test_fraction"),
        ({"test_fraction": True}, "test_fraction"),
        ({"data": "mnist"}, "data must be"),
        ({"data": {"format": "npz"}}, "data must be"),
        ({"data": {"format": "tar", "path": "x"}}, "data format"),
        ({"data": {"format": "npz", "path": ""}}, "data path"),
        ({"data": {"format": "npz", "path": "a\nb"}}, "data path"),
        ({"data": {"format": "npz", "path": 3}}, "data path"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(SpecError, match=message):
        generate_training_code(preset(), **options)


def test_designs_that_cannot_be_trained_are_refused():
    three = flat(64, 3)
    with pytest.raises(SpecError, match="10 values"):
        generate_training_code(three)
    assert "NUM_CLASSES = 3" in generate_training_code(three, data={"format": "npz", "path": "d"})
    with pytest.raises(SpecError, match="one value per class"):
        generate_training_code(flat(64, 1), data={"format": "npz", "path": "d"})
    clash = {**IMAGE_1x8, "name": "data"}  # class Data: the script's own name
    with pytest.raises(SpecError, match="rename the design"):
        generate_training_code(clash)
    with pytest.raises(SpecError, match="rename the design"):
        generate_training_notebook(clash)
    assert "class Net(nn.Module)" in generate_training_code(load_spec(IMAGE_1x8))
