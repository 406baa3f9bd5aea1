"""Spec + training options -> a standalone training script or Jupyter notebook to take home.

``generate_training_code`` writes what the app's Train tab does as one Python file: the exported
model class (``generate_code``), the data (scikit-learn's digits by default, or an ``.npz``, a
CSV or a folder / ``.zip`` of class folders given as ``--data PATH``), the same optimizer,
learning rate, batch size, epochs and seed, the training loop and the evaluation.
``python train_net.py`` prints the device, one line per epoch and ends with the line
``test accuracy: NN.N%``. ``generate_training_notebook`` writes the same as an ``.ipynb``.

The same run as the app's on the CPU: the digits loaded, split, standardized and resized
batch by batch as ``builder.training`` does, the weights from ``torch.manual_seed(spec seed)``
(as ``build_model``), the shuffling from its own generator and Dropout from the global one, both
seeded with ``seed`` (the app's private stream starts from that state). With the same number of
threads, each epoch's numbers are the app's; on a GPU they differ in the last bits.

Safety, as in ``codegen``: the code is fixed text in this module, filled in only with identifiers
checked by ``codegen.identifier`` and literals written by ``codegen.literal`` (exact builtin
types, finite numbers) or ``_path_literal`` (``repr`` of a checked path); the result is
``ast.parse``'d before it is returned. No free text of the spec reaches the code.
"""

from __future__ import annotations

import ast
import math
import string
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .analysis import analyze, require_ok
from .codegen import LINE_LENGTH, generate_code, identifier, literal
from .errors import SpecError
from .spec import Spec, load_spec
from .training import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LR,
    MOMENTUM,
    NUM_CLASSES,
    _check_args,
    _loss_kind,
)

DATA_FORMATS: tuple[str, ...] = ("npz", "csv", "folder")
"""The file formats besides the built-in digits: an ``.npz`` with arrays ``x`` and ``y``; a CSV
with a label column and feature or pixel columns; images in class folders (a folder or a
``.zip``)."""
MAX_PATH_LENGTH = 4096
_DIGITS = "digits"

# --- the generated code's fixed pieces -----------------------------------------------------------

_DEVICE = '''
def pick_device(name: str = "auto") -> torch.device:
    """CUDA when there is an NVIDIA GPU, else Apple's MPS, else the CPU (as the app chooses)."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type
'''

_RESIZE_IMAGE = '''
def resize(images: torch.Tensor) -> torch.Tensor:
    """[N, c, h, w] images as [N, C, H, W]: resized bilinearly, one channel repeated in every
    channel (other counts are first averaged to one: grey)."""
    channels, height, width = INPUT_SHAPE
    if images.shape[1] not in (1, channels):
        images = images.mean(1, keepdim=True)
    if tuple(images.shape[-2:]) != (height, width):
        images = F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False)
    return images.expand(-1, channels, -1, -1).contiguous()
'''

_RESIZE_SEQUENCE = '''
def resize(images: torch.Tensor) -> torch.Tensor:
    """[N, c, h, w] images (grey) as [N, C, L]: the pixels row by row, resized linearly to
    length L, repeated in every channel."""
    channels, length = INPUT_SHAPE
    if images.shape[1] != 1:
        images = images.mean(1, keepdim=True)
    rows = images.reshape(len(images), 1, -1)
    if length != rows.shape[-1]:
        rows = F.interpolate(rows, size=length, mode="linear", align_corners=False)
    return rows.expand(-1, channels, -1).contiguous()
'''

_RESIZE_FLAT = '''
def resize(images: torch.Tensor) -> torch.Tensor:
    """[N, c, h, w] images (grey) as [N, F]: resized bilinearly to s×s, s = floor(sqrt(F)),
    flattened row by row and zero-padded to F."""
    (features,) = INPUT_SHAPE
    side = math.isqrt(features)
    if images.shape[1] != 1:
        images = images.mean(1, keepdim=True)
    if tuple(images.shape[-2:]) != (side, side):
        images = F.interpolate(images, size=(side, side), mode="bilinear", align_corners=False)
    flat = images.reshape(len(images), side * side)
    return F.pad(flat, (0, features - side * side))
'''

_SPLIT = '''
class Data:
    """The samples split by a seeded permutation and standardized with the training set's mean
    and std; ``batch(indices)`` resizes just those samples to the design's input."""

    def __init__(
        self, images: torch.Tensor, labels: torch.Tensor, seed: int, test_fraction: float
    ) -> None:
        n = len(images)
        n_test = min(n - 1, max(1, round(n * test_fraction)))
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        self.train_idx, self.test_idx = order[n_test:], order[:n_test]
        std, mean = torch.std_mean(images[self.train_idx])
        self.images = (images - mean) / std
        self.labels = labels
        self.ready = tuple(images.shape[1:]) == INPUT_SHAPE  # already the design's input

    def batch(self, indices: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, ...]:
        x = self.images[indices]
        if not self.ready:
            x = resize(x)
        return x.to(device), self.labels[indices].to(device)
'''

_LOAD_DIGITS = '''
def load_data() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 handwritten digits: [N, 1, 8, 8] floats in [0, 1] and labels 0-9."""
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    return images, torch.tensor(digits.target, dtype=torch.int64)
'''

_AS_ARRAYS = '''
def as_images(x: np.ndarray) -> torch.Tensor:
    """Samples as float32 [N, c, h, w] images (as they are if already the design's input):
    [N, h, w] is grey; [N, h, w, c] (c of 1, 3, 4) channels last; [N, s·s] an s×s image."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    if tuple(x.shape[1:]) == INPUT_SHAPE:
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
    raise SystemExit(f"cannot read samples of shape {tuple(x.shape[1:])} as images")


def as_labels(y: np.ndarray) -> torch.Tensor:
    """Class indices 0 .. NUM_CLASSES - 1: whole numbers from 0 as they are; anything else
    (names, negative or fractional numbers) numbered in sorted order."""
    y = np.asarray(y).reshape(-1)
    try:
        numbers = y.astype(np.float64)
    except ValueError:  # names
        numbers = np.unique(y, return_inverse=True)[1]
    if numbers.min() < 0 or not np.all(numbers == np.round(numbers)):
        numbers = np.unique(numbers, return_inverse=True)[1]
    labels = torch.as_tensor(numbers.astype(np.int64))
    if int(labels.max()) >= NUM_CLASSES:
        raise SystemExit(
            f"the labels go up to {int(labels.max())} but the design outputs {NUM_CLASSES} "
            f"values: set the last layer's out_features to {int(labels.max()) + 1}"
        )
    return labels
'''

_LOAD_NPZ = '''
def load_data(path: str) -> tuple[torch.Tensor, torch.Tensor]:
    """An .npz file with the samples in array ``x`` ([N, ...]) and their labels in ``y`` ([N])."""
    with np.load(path) as arrays:
        return as_images(arrays["x"]), as_labels(arrays["y"])
'''

_LOAD_CSV = '''
def load_data(path: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A CSV file, one sample a row: a label column (the one headed "label", else the first)
    and feature or pixel columns (numbers). A first row that is not all numbers is the header."""
    with open(path, newline="") as file:
        rows = [row for row in csv.reader(file) if row]
    names, label_column = [cell.strip().lower() for cell in rows[0]], 0
    if "label" in names or not all(is_number(cell) for cell in rows[0][1:]):  # a header
        label_column = names.index("label") if "label" in names else 0
        del rows[0]
    labels = [row[label_column] for row in rows]
    features = [[float(v) for i, v in enumerate(row) if i != label_column] for row in rows]
    return as_images(np.array(features, dtype=np.float32)), as_labels(np.array(labels))


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
'''

_LOAD_FOLDER = '''
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def load_data(path: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images in class folders (a folder, or a .zip of one): each image's class is the name of
    the folder it is in, classes numbered in sorted order. Each image is read (with Pillow) in
    grey or RGB and resized to IMAGE_SIZE."""
    try:
        from PIL import Image
    except ImportError:
        raise SystemExit("reading images needs Pillow: pip install pillow") from None
    files = image_files(path)
    if not files:
        raise SystemExit(f"no images ({', '.join(IMAGE_SUFFIXES)}) in class folders in {path}")
    classes = sorted({name for name, _ in files})
    pixels = []
    for _, data in files:
        with Image.open(io.BytesIO(data)) as image:
            image = image.convert(IMAGE_MODE).resize(IMAGE_SIZE[::-1], Image.Resampling.BILINEAR)
            pixels.append(np.asarray(image, dtype=np.float32) / 255.0)
    labels = np.array([classes.index(name) for name, _ in files])
    stacked = np.stack(pixels)
    if stacked.ndim == 4:  # colour: channels first, whatever the size ([N, 3, H, W])
        stacked = stacked.transpose(0, 3, 1, 2)
    return as_images(stacked), as_labels(labels)


def image_files(path: str) -> list[tuple[str, bytes]]:
    """(class name, file bytes) of every image in a class folder, sorted by path."""
    found = []
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for name in sorted(archive.namelist()):
                member = PurePosixPath(name)
                if is_image(member) and not name.startswith("__MACOSX"):
                    found.append((member.parent.name, archive.read(name)))
        return found
    root = Path(path)
    for file in sorted(root.rglob("*")):
        if is_image(file) and file.parent != root and file.is_file():
            found.append((file.parent.name, file.read_bytes()))
    return found


def is_image(path: PurePath) -> bool:
    hidden = any(part.startswith(".") for part in path.parts)
    return len(path.parts) > 1 and path.suffix.lower() in IMAGE_SUFFIXES and not hidden
'''

_LOSS_FN = '''
def loss_fn(out: torch.Tensor, y: torch.Tensor, r: str = "mean") -> torch.Tensor:
    """$DOC"""
    return $BODY
'''
_LOSS = {  # (docstring, body) per builder.training._loss_kind
    "logits": ("Cross-entropy on the outputs (logits).", "F.cross_entropy(out, y, reduction=r)"),
    "log_probs": ("After LogSoftmax: negative log-likelihood.", "F.nll_loss(out, y, reduction=r)"),
    "probs": (
        "After Softmax: -log of the probabilities.",
        "F.nll_loss(out.clamp_min(torch.finfo(out.dtype).tiny).log(), y, reduction=r)",
    ),
}

_OPTIMIZER = {
    "adam": ("Adam", "torch.optim.Adam(params, lr=lr)"),
    "sgd": ("plain SGD", "torch.optim.SGD(params, lr=lr)"),
    "sgd_momentum": ("SGD with momentum", f"torch.optim.SGD(params, lr=lr, momentum={MOMENTUM!r})"),
}

_MAKE_OPTIMIZER = '''
def make_optimizer(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """$WHAT on the trainable parameters (frozen layers stay as they are)."""
    params = [p for p in model.parameters() if p.requires_grad]
    return $CALL
'''

_LOOP = '''
def batch_starts(n: int, batch_size: int) -> list[int]:
    """Where each batch begins; a last batch of a single sample is dropped (BatchNorm needs 2)."""
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return starts


def evaluate(
    model: nn.Module, data: Data, device: torch.device, batch_size: int
) -> tuple[float, float]:
    """Mean loss and accuracy on the held-out samples, in eval mode (Dropout off, BatchNorm's
    running statistics)."""
    model.eval()
    loss_sum, right = 0.0, 0
    with torch.no_grad():
        for begin in range(0, len(data.test_idx), batch_size):
            x, y = data.batch(data.test_idx[begin : begin + batch_size], device)
            out = model(x)
            loss_sum += loss_fn(out, y, "sum").item()
            right += int((out.argmax(1) == y).sum())
    n = len(data.test_idx)
    return loss_sum / n, right / n


def train(
    model: nn.Module,
    data: Data,
    device: torch.device,
    epochs: int = EPOCHS,
    batch_size: int = BATCH_SIZE,
    lr: float = LR,
    seed: int = SEED,
) -> None:
    """Train for ``epochs`` passes over the training set, printing one line per epoch."""
    optimizer = make_optimizer(model, lr)
    shuffle = torch.Generator().manual_seed(seed)  # the order of the samples, epoch by epoch
    torch.manual_seed(seed)  # what Dropout draws
    n_train = len(data.train_idx)
    starts = batch_starts(n_train, batch_size)
    for epoch in range(1, epochs + 1):
        began = time.perf_counter()
        model.train()
        order = data.train_idx[torch.randperm(n_train, generator=shuffle)]
        loss_sum, right, seen = 0.0, 0, 0
        for begin in starts:
            x, y = data.batch(order[begin : begin + batch_size], device)
            out = model(x)
            loss = loss_fn(out, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(y)
            right += int((out.detach().argmax(1) == y).sum())
            seen += len(y)
        test_loss, test_accuracy = evaluate(model, data, device, batch_size)
        print(
            f"epoch {epoch}/{epochs}: train loss {loss_sum / seen:.4f}, "
            f"train accuracy {100 * right / seen:.1f}%, test loss {test_loss:.4f}, "
            f"test accuracy {100 * test_accuracy:.1f}%, {time.perf_counter() - began:.1f} s"
        )
'''

_MAIN = """
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
$DATA_ARGUMENT    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--lr", type=float, default=LR, help="learning rate")
    parser.add_argument("--seed", type=int, default=SEED, help="the split, shuffling, Dropout")
    parser.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"))
    args = parser.parse_args()
    device = pick_device(args.device)
    print(f"device: {describe(device)}")
    data = Data(*load_data($DATA_CALL), args.seed, TEST_FRACTION)
    print(f"data: {len(data.train_idx)} samples to train on, {len(data.test_idx)} held out")
    torch.manual_seed(MODEL_SEED)
    model = $CLASS().to(device)
    train(model, data, device, args.epochs, args.batch_size, args.lr, args.seed)
    _, test_accuracy = evaluate(model, data, device, args.batch_size)
    print(f"test accuracy: {100 * test_accuracy:.1f}%")


if __name__ == "__main__":
    main()
"""

_DATA_ARGUMENT = (
    '    parser.add_argument("--data", default=DATA_PATH, help=$HELP)\n'  # a literal from _HELP
)
_DATA = {  # format: (in a title, in the introduction, the --data option's help)
    _DIGITS: ("the handwritten digits", "scikit-learn's handwritten digits (1,797 of 8×8)", ""),
    "npz": ("an .npz file", "the samples of an .npz file (arrays x and y)", "an .npz file"),
    "csv": ("a CSV file", "a CSV file (a label column, feature or pixel columns)", "a CSV file"),
    "folder": ("images in class folders", "images in class folders", "a folder or .zip of them"),
}


@dataclass(frozen=True)
class _Plan:
    """Everything the generated code needs, checked."""

    cls: str
    model_imports: tuple[str, ...]
    model_code: str
    input_shape: tuple[int, ...]
    num_classes: int
    model_seed: int
    optimizer: str
    lr: float
    batch_size: int
    epochs: int
    seed: int
    test_fraction: float
    data_format: str
    data_path: str | None
    loss: str


# --- the public functions ------------------------------------------------------------------------


def generate_training_code(
    spec: Any,
    *,
    optimizer: str = "adam",
    lr: float | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    epochs: int = 3,
    seed: int = 0,
    data: str | Mapping[str, Any] = _DIGITS,
    test_fraction: float = 0.25,
    notebook: bool = False,
) -> str:
    """A standalone script that trains the design as the app's Train tab does.

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts. It must output one value per class
            (10 for the digits).
        optimizer: ``"adam"``, ``"sgd"`` or ``"sgd_momentum"`` (as ``builder.training.train``).
        lr: the learning rate; None takes ``DEFAULT_LR[optimizer]``.
        batch_size: samples per step.
        epochs: passes over the training split.
        seed: seeds the split, the shuffling and Dropout (the weights follow the spec's seed).
        data: ``"digits"`` (scikit-learn's, no download), or ``{"format": "npz" | "csv" |
            "folder", "path": PATH}``: the script reads that file (``--data`` overrides it).
        test_fraction: the held-out share.
        notebook: return ``generate_training_notebook``'s notebook instead.

    Returns:
        The script's source (``ast.parse``'d, ruff clean with the project's settings).

    Raises:
        SpecError: for an invalid design or option, or a design whose output is not one value
            per class.
    """
    options = {k: v for k, v in locals().items() if k not in ("spec", "notebook")}
    if notebook:
        return generate_training_notebook(spec, **options)
    plan = _plan(spec, **options)
    files = plan.data_path is not None
    argument = _fill(_DATA_ARGUMENT, HELP=f'"{_DATA[plan.data_format][2]}"') if files else ""
    blocks = [
        _docstring(plan),
        _imports(plan, script=True),
        _settings(plan),
        plan.model_code,
        _DEVICE,
        *_data_blocks(plan),
        *_training_blocks(plan),
        _fill(
            _MAIN,
            DATA_ARGUMENT=argument,
            DATA_CALL="args.data" if files else "",
            CLASS=plan.cls,
        ),
    ]
    head = "\n\n".join(block.strip("\n") for block in blocks[:3])  # docstring, imports, settings
    source = _cell(head, *blocks[3:]) + "\n"
    return _checked(source, plan)


def generate_training_notebook(spec: Any, **options: Any) -> str:
    """The training script as a Jupyter notebook (nbformat 4), to run cell by cell.

    Cells: a markdown introduction; the imports and settings; the model class; the device; the
    data; the training loop (one line per epoch); the evaluation, whose last line is
    ``test accuracy: NN.N%``. Each code cell is ruff clean.

    Args:
        spec: as for ``generate_training_code``.
        **options: ``optimizer``, ``lr``, ``batch_size``, ``epochs``, ``seed``, ``data``,
            ``test_fraction``, as for ``generate_training_code``.

    Returns:
        The notebook's JSON text (``nbformat.reads`` reads it; ``nbformat.validate`` passes).

    Raises:
        SpecError: as for ``generate_training_code``.
    """
    import nbformat
    from nbformat import v4

    plan = _plan(spec, **options)
    load = "load_data(DATA_PATH)" if plan.data_path else "load_data()"
    title, intro = _intro(plan)
    cells = [  # (markdown, code) pairs
        (f"# {title}\n\n{intro}", _imports(plan, script=False) + "\n\n" + _settings(plan)),
        (
            "## The model\n\nThe class NetBuilder exports; it starts from the app's weights.",
            plan.model_code,
        ),
        (
            "## The device\n\nCUDA, else Apple's MPS, else the CPU.",
            _cell(_DEVICE, _SHOW_DEVICE),
        ),
        (
            "## The data\n\nSplit with the seed, standardized, resized batch by batch.",
            _cell(*_data_blocks(plan), _fill(_SHOW_DATA, LOAD=load)),
        ),
        (
            "## Training\n\nOne line per epoch: on the training batches, then held out.",
            _cell(*_training_blocks(plan), _fill(_START, CLASS=plan.cls)),
        ),
        ("## Evaluation\n\nThe held-out accuracy of the trained model.", _EVALUATE.strip("\n")),
    ]
    _checked("\n\n\n".join(code for _, code in cells) + "\n", plan)
    book = v4.new_notebook()
    book.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    book.metadata["language_info"] = {"name": "python"}
    for text, code in cells:
        book.cells += [v4.new_markdown_cell(text), v4.new_code_cell(code)]
    for number, cell in enumerate(book.cells):
        cell["id"] = f"cell-{number}"  # stable ids: the same design gives the same file
    nbformat.validate(book)
    return nbformat.writes(book)


_SHOW_DEVICE = """
device = pick_device()
print(f"device: {describe(device)}")
"""
_SHOW_DATA = """
data = Data(*$LOAD, SEED, TEST_FRACTION)
print(f"data: {len(data.train_idx)} samples to train on, {len(data.test_idx)} held out")
"""
_START = """
torch.manual_seed(MODEL_SEED)
model = $CLASS().to(device)
train(model, data, device)
"""
_EVALUATE = """
test_loss, test_accuracy = evaluate(model, data, device, BATCH_SIZE)
print(f"test accuracy: {100 * test_accuracy:.1f}%")
"""


# --- checking the options ------------------------------------------------------------------------


def _plan(
    spec: Any,
    *,
    optimizer: Any = "adam",
    lr: Any = None,
    batch_size: Any = DEFAULT_BATCH_SIZE,
    epochs: Any = 3,
    seed: Any = 0,
    data: Any = _DIGITS,
    test_fraction: Any = 0.25,
) -> _Plan:
    """Check the design and the options (with the app's own checks and messages)."""
    spec = load_spec(spec.to_dict() if isinstance(spec, Spec) else spec)
    analysis = analyze(spec)
    require_ok(analysis)
    _check_args(epochs, batch_size, optimizer, lr, 1.0, seed)
    if type(test_fraction) not in (int, float) or not 0 < test_fraction < 1:  # NaN fails too
        raise SpecError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    data_format, data_path = _data_option(data)
    out = analysis.output_shape
    if data_format == _DIGITS and out != (NUM_CLASSES,):
        raise SpecError(
            f"the last layer must output {NUM_CLASSES} values for the {NUM_CLASSES} digits, "
            f"got {out}; end with a Flatten (if needed) and a Linear with out_features=10"
        )
    if out is None or len(out) != 1 or out[0] < 2:
        raise SpecError(
            f"the last layer must output one value per class (at least 2), got {out}; end with "
            "a Flatten (if needed) and a Linear with out_features = the number of classes"
        )
    imports, code = _model_parts(generate_code(spec))
    return _Plan(
        cls=identifier(spec.class_name, "class name"),
        model_imports=imports,
        model_code=code,
        input_shape=tuple(analysis.input_shape),
        num_classes=out[0],
        model_seed=spec.seed,
        optimizer=optimizer,
        lr=float(DEFAULT_LR[optimizer] if lr is None else lr),
        batch_size=batch_size,
        epochs=epochs,
        seed=seed,
        test_fraction=float(test_fraction),
        data_format=data_format,
        data_path=data_path,
        loss=_loss_kind(spec),
    )


def _data_option(data: Any) -> tuple[str, str | None]:
    """``"digits"`` or ``{"format": ..., "path": ...}`` as ``(format, path)``."""
    if type(data) is str and data == _DIGITS:
        return _DIGITS, None
    if not isinstance(data, Mapping) or set(data) != {"format", "path"}:
        raise SpecError(
            f'data must be "digits" or {{"format": ..., "path": ...}}, got {data!r:.80}'
        )
    data_format, path = data["format"], data["path"]
    if type(data_format) is not str or data_format not in DATA_FORMATS:
        raise SpecError(
            f"data format must be one of {', '.join(DATA_FORMATS)}, got {data_format!r:.60}"
        )
    if type(path) is not str or not 0 < len(path) <= MAX_PATH_LENGTH or not path.isprintable():
        raise SpecError(
            f"data path must be a file name or path of printable characters (at most "
            f"{MAX_PATH_LENGTH}), got {path!r:.80}"
        )
    return data_format, path


def _path_literal(path: str) -> str:
    """A checked path as a string literal: ``repr``, in double quotes when that needs no escape
    (as ``ruff format`` writes it)."""
    text = repr(path)
    if text.startswith("'") and '"' not in path and "'" not in path:
        text = '"' + text[1:-1] + '"'
    return text


# --- assembling ----------------------------------------------------------------------------------


def _model_parts(source: str) -> tuple[tuple[str, ...], str]:
    """The exported module's imports and its code between them and the ``__main__`` block."""
    tree = ast.parse(source)
    lines = source.splitlines()
    imports: list[str] = []
    start = end = None
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append("\n".join(lines[node.lineno - 1 : node.end_lineno]))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the module docstring: the script has its own
        elif isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            end = node.lineno - 1
            break
        elif start is None:
            decorators = getattr(node, "decorator_list", [])
            start = min([node.lineno, *(d.lineno for d in decorators)])
    if start is None:  # pragma: no cover - generate_code always writes a class
        raise RuntimeError("the exported module has no class")
    code = "\n".join(lines[start - 1 : end]).strip("\n")
    return tuple(imports), code


def _imports(plan: _Plan, script: bool) -> str:
    """The import lines, sorted as ruff's isort rule wants them (stdlib, then the rest; plain
    imports before ``from`` imports, by module)."""
    files = plan.data_format != _DIGITS
    wanted = {
        "import argparse": script,
        "import csv": plan.data_format == "csv",
        "import io": plan.data_format == "folder",
        "import math": files or len(plan.input_shape) == 1,
        "import time": True,
        "import zipfile": plan.data_format == "folder",
        "from pathlib import Path, PurePath, PurePosixPath": plan.data_format == "folder",
        "import numpy as np": files,
        "import torch": True,
        "import torch.nn.functional as F": True,
        "from sklearn.datasets import load_digits": not files,
        "from torch import nn": True,
    }
    chosen = {line for line, use in wanted.items() if use} | set(plan.model_imports)
    stdlib = [line for line in chosen if line.split()[1].split(".")[0] in sys.stdlib_module_names]
    groups = [stdlib, [line for line in chosen if line not in stdlib]]
    return "\n\n".join(
        "\n".join(sorted(g, key=lambda line: (line.startswith("from "), line.split()[1].lower())))
        for g in groups
        if g
    )


def _settings(plan: _Plan) -> str:
    lines = [
        f"INPUT_SHAPE = {literal(plan.input_shape)}  # one sample, as the design takes it",
        f"NUM_CLASSES = {literal(plan.num_classes)}  # the design's outputs: one per class",
        f"MODEL_SEED = {literal(plan.model_seed)}  # seeds the weights as in the app",
        f"LR = {literal(plan.lr)}  # the learning rate",
        f"BATCH_SIZE = {literal(plan.batch_size)}",
        f"EPOCHS = {literal(plan.epochs)}",
        f"SEED = {literal(plan.seed)}  # seeds the split, the shuffling and Dropout",
        f"TEST_FRACTION = {literal(plan.test_fraction)}  # the share of the samples held out",
    ]
    if plan.data_path is not None:
        lines.append(f"DATA_PATH = {_path_literal(plan.data_path)}  # --data PATH reads another")
    if plan.data_format == "folder":
        kind = len(plan.input_shape)
        if kind == 3:
            size = plan.input_shape[1:]
        else:
            side = max(1, math.isqrt(plan.input_shape[-1]))
            size = (side, side)
        grey = kind != 3 or plan.input_shape[0] == 1
        lines += [
            f"IMAGE_SIZE = {literal(tuple(size))}  # (height, width) each image is read at",
            'IMAGE_MODE = "L"  # grey' if grey else 'IMAGE_MODE = "RGB"  # colour',
        ]
    return "\n".join(_fit(line) for line in lines)


def _fit(line: str) -> str:
    """A setting whose line is too long without its comment (a long path), marked for ruff."""
    if len(line) <= LINE_LENGTH:
        return line
    code = line.split("  # ", 1)[0]
    return code if len(code) <= LINE_LENGTH else f"{code}  # noqa: E501"


def _docstring(plan: _Plan) -> str:
    title, intro = _intro(plan)
    run = (
        "Run this file with Python (options: "
        + ("--data PATH, " if plan.data_path is not None else "")
        + "--epochs, --batch-size, --lr, --seed, --device; --help says more)."
    )
    paragraphs = [textwrap.fill(p, LINE_LENGTH) for p in (*intro.split("\n\n"), run)]
    head = textwrap.wrap(f'"""{title}', LINE_LENGTH)
    return "\n".join([*head, "", "\n\n".join(paragraphs), '"""'])


def _intro(plan: _Plan) -> tuple[str, str]:
    """A title and a paragraph: what the code trains, on what, with which settings."""
    what, _ = _OPTIMIZER[plan.optimizer]
    title = f"Train {plan.cls} on {_DATA[plan.data_format][0]}, as NetBuilder's Train tab does."
    settings = (
        f"The data: {_DATA[plan.data_format][1]}. {what}, learning rate {literal(plan.lr)}, "
        f"batches of {literal(plan.batch_size)}, "
        f"{literal(plan.epochs)} epoch(s), seed {literal(plan.seed)} (the split, the shuffling "
        f"and Dropout); a share of {literal(plan.test_fraction)} of the samples held out. "
        "It trains on CUDA when there is an NVIDIA GPU, else on Apple's MPS, else on the CPU, "
        "and prints the device, one line per epoch and, last, `test accuracy: NN.N%`."
    )
    return title, settings


def _data_blocks(plan: _Plan) -> list[str]:
    resize = {3: _RESIZE_IMAGE, 2: _RESIZE_SEQUENCE, 1: _RESIZE_FLAT}[len(plan.input_shape)]
    if plan.data_format == _DIGITS:
        return [resize, _SPLIT, _LOAD_DIGITS]
    loader = {"npz": _LOAD_NPZ, "csv": _LOAD_CSV, "folder": _LOAD_FOLDER}[plan.data_format]
    return [resize, _SPLIT, _AS_ARRAYS, loader]


def _training_blocks(plan: _Plan) -> list[str]:
    what, call = _OPTIMIZER[plan.optimizer]
    doc, body = _LOSS[plan.loss]
    loss = _fill(_LOSS_FN, DOC=doc, BODY=body)
    return [loss, _fill(_MAKE_OPTIMIZER, WHAT=what, CALL=call), _LOOP]


def _fill(template: str, **values: str) -> str:
    return string.Template(template).substitute(values)


def _cell(*blocks: str) -> str:
    """Blocks of code as one notebook cell (two blank lines apart, as ruff formats them)."""
    return "\n\n\n".join(block.strip("\n") for block in blocks)


def _checked(source: str, plan: _Plan) -> str:
    """``source`` if it parses and the design's class name is none of the code's own names."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:  # pragma: no cover - a bug here, never the user's input
        raise RuntimeError(f"generated code does not parse: {exc}") from exc
    defined = [name for node in tree.body for name in _defined(node)]
    if defined.count(plan.cls) > 1:
        raise SpecError(
            f"the design's class name {plan.cls} is also a name the training code uses: "
            "rename the design"
        )
    return source


def _defined(node: ast.stmt) -> list[str]:
    """The names a module-level statement binds."""
    if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    return []
