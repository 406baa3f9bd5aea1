"""Fuzzing the builder: whatever arrives, only ``SpecError`` escapes, and what loads builds.

Three kinds of input, from cheapest to most effective:

- arbitrary JSON values (``json_values``): mostly rejected at the top, they check the boundary;
- mutated specs (``mutated_specs``): a well-formed random spec with one to three of its fields
  replaced, inserted or deleted with arbitrary JSON or a hostile value. These reach deep into
  validation, analysis and building, and find far more than random JSON;
- well-formed random specs (``tests.strategies.specs``).

Each is fed to ``load_spec`` as a dict, as a JSON string, and as the bytes of an uploaded file
(decoded as the app decodes them). If it loads, the normalized dict round-trips (also through
JSON and a share link), ``analyze`` never raises, the code export parses, and if the analysis
is ok and the design is small, ``build_model`` builds it and a batch of 2 comes out with the
predicted shape. ``check_spec_input`` holds these properties; ``bench/fuzz_campaign.py`` runs
the same checks for hours and writes every failure to ``tests/regressions/*.json``, which
``test_regression`` replays (``"xfail"`` in a file marks a failure not fixed yet).

Example counts follow the hypothesis profile (``HYPOTHESIS_PROFILE``; ``ci`` by default).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import io
import json
import math
import os
import pathlib
import random
import signal
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from builder import SpecError, analyze, build_model, generate_code, load_spec
from builder.assignment import KEYS as ASSIGNMENT_KEYS
from builder.assignment import LOCKABLE, decode_assignment, load_assignment
from builder.diagram import MAX_PNG_PIXELS, diagram_png, diagram_svg
from builder.histograms import weight_histograms
from builder.initializers import SCHEMES
from builder.layers import PARAM_TYPES, REGISTRY
from builder.limits import MAX_LINK_CHARS
from builder.memory import DTYPE_BYTES, MAX_BATCH, OPTIMIZER_MOMENTS, memory_estimate
from builder.model import constructor_kwargs
from builder.receptive import receptive_field
from builder.share import decode_design, encode_design, pack
from builder.spec import LAYER_META_KEYS, TOP_KEYS
from tests.strategies import specs

REGRESSIONS = Path(__file__).resolve().parent / "regressions"
EXAMPLES = settings.default.max_examples


def fuzz(times: int) -> settings:
    """``times`` the profile's example count, no deadline (a build can take a moment)."""
    return settings(
        max_examples=times * EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# Builds in CI stay small; the campaign raises these to the app's own limit.
BUILD_PARAMS = 2_000_000
BUILD_ACTIVATIONS = 4_000_000  # elements of all layer outputs for the batch of 2


# --- strategies -----------------------------------------------------------------------------

KNOWN_KEYS = sorted(
    {
        *TOP_KEYS,
        *LAYER_META_KEYS,
        "weight",
        "bias",
        "scheme",
        *(a.name for entry in REGISTRY.values() for a in entry.args),
        *(a.name for scheme in SCHEMES.values() for a in scheme.args),
        *REGISTRY,
    }
)
KNOWN_STRINGS = sorted({*KNOWN_KEYS, *SCHEMES, "same", "valid", "relu", "zeros", "fan_out"})

HOSTILE = [
    0,
    -1,
    1,
    2,
    3,
    2**31 - 1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63),
    10**30,
    10**400,
    1e308,
    -1e308,
    5e-324,
    1e-300,
    0.5,
    1.5,
    -0.0,
    1e16,
    math.nan,
    math.inf,
    -math.inf,
    True,
    False,
    None,
    "",
    " ",
    "\x00",
    "\u202e",
    "é",
    "😀",
    "NaN",
    "Infinity",
    "1",
    "__class__",
    "__import__('os')",
    '"; import os; os.system("id") #',
    "'''",
    '"""',
    "\\",
    "\n",
    "a" * 5000,
    "<script>alert(1)</script>",
    "../../etc/passwd",
    [],
    {},
    [1],
    [1, 2],
    [1, 2, 3],
    [None, 1],
    [0, 0],
    [[1, 2], 3],
    [1.5, 2],
    {"scheme": "normal"},
    {"scheme": "default"},
]

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(KNOWN_STRINGS),
    st.sampled_from(HOSTILE),
)


def json_values(max_leaves: int = 25) -> st.SearchStrategy[Any]:
    """Arbitrary JSON values (with NaN, infinities and huge integers), dict keys often real."""
    keys = st.one_of(st.text(max_size=12), st.sampled_from(KNOWN_KEYS))
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=6)
        ),
        max_leaves=max_leaves,
    )


def _containers(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths to every list and dict inside ``value`` (the root included)."""
    found = []
    if isinstance(value, (dict, list)):
        found.append(path)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            found.extend(_containers(child, (*path, key)))
    return found


def _at(value: Any, path: tuple) -> Any:
    for key in path:
        value = value[key]
    return value


def _like(value: Any) -> st.SearchStrategy[Any]:
    """Values of the same JSON type as ``value``: they get past type checks to the range checks,
    the analysis and the build."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.one_of(
            st.integers(-3, 70),
            st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**63 - 1, 10**4, 10**6, 10**9, 10**400]),
            st.integers(),
        )
    if isinstance(value, float):
        return st.one_of(st.floats(), st.floats(-2, 2), st.integers(-3, 3))
    if isinstance(value, str):
        return st.one_of(st.sampled_from(KNOWN_STRINGS), st.text(max_size=8))
    if isinstance(value, list):
        return st.lists(_like(value[0]) if value else leaves, max_size=4)
    return json_values(8)


NUMBERS = st.one_of(
    st.floats(),
    st.floats(-3, 3),
    st.integers(-3, 70),
    st.sampled_from([1e308, -1e308, 3.5e38, -3.5e38, 1e-300, 5e-324, 1e16, 10**400, -(2**1024)]),
)


def _arg_values(kind: str, choices: tuple[Any, ...] = ()) -> st.SearchStrategy[Any]:
    """Plausible-to-nasty values for a layer argument of ``ArgKind`` value ``kind`` (or an
    ``InitArg`` kind)."""
    ints = _like(1)
    if kind in ("size", "opt_size", "padding", "output_size"):
        one = st.one_of(ints, st.none()) if kind == "output_size" else ints
        extra = st.sampled_from(["same", "valid"]) if kind == "padding" else st.nothing()
        return st.one_of(ints, st.lists(one, min_size=2, max_size=2), extra, st.none())
    if kind in ("int", "opt_int", "dim"):
        return st.one_of(ints, st.none())
    if kind in ("float", "opt_float", "nonneg", "positive", "fraction"):
        return st.one_of(NUMBERS, st.none())
    if kind == "gain":
        return st.one_of(NUMBERS, st.sampled_from(KNOWN_STRINGS))
    if kind == "bool":
        return st.one_of(st.booleans(), st.sampled_from([0, 1, None]))
    return st.one_of(st.sampled_from(list(choices) or KNOWN_STRINGS), st.text(max_size=6))


def _sane(spec: Any) -> bool:
    """Whether the structured mutations can find their way around ``spec``."""
    return (
        isinstance(spec, dict)
        and isinstance(spec.get("layers"), list)
        and bool(spec["layers"])
        and isinstance(spec.get("init", {}), dict)
        and all(isinstance(v, dict) for v in spec.get("init", {}).values())
        and all(
            isinstance(layer, dict)
            and isinstance(layer.get("type"), str)
            and layer["type"] in REGISTRY
            and isinstance(layer.get("init", {}), dict)
            for layer in spec["layers"]
        )
    )


@st.composite
def _set_layer_arg(draw: st.DrawFn, spec: dict[str, Any]) -> None:
    """Set one registry argument of a random layer to a value of about the right kind."""
    layer = draw(st.sampled_from(spec["layers"]))
    args = REGISTRY[layer["type"]].args
    if not args:
        return
    arg = draw(st.sampled_from(args))
    layer[arg.name] = draw(_arg_values(arg.kind.value, arg.choices))


@st.composite
def _random_init(draw: st.DrawFn) -> dict[str, Any]:
    """A known scheme with a random subset of its arguments, at plausible-to-nasty values."""
    scheme = SCHEMES[draw(st.sampled_from(sorted(SCHEMES)))]
    init: dict[str, Any] = {"scheme": scheme.name}
    for arg in scheme.args:
        if arg.required or draw(st.booleans()):
            init[arg.name] = draw(_arg_values(arg.kind, arg.choices))
    return init


@st.composite
def _set_init(draw: st.DrawFn, spec: dict[str, Any]) -> None:
    """Give a random tensor of a layer (or of a layer type) a random scheme."""
    tensor = draw(st.sampled_from(["weight", "bias"]))
    with_params = [layer for layer in spec["layers"] if layer["type"] in PARAM_TYPES]
    if with_params and draw(st.booleans()):
        layer = draw(st.sampled_from(with_params))
        layer.setdefault("init", {})[tensor] = draw(_random_init())
    else:
        layer_type = draw(st.sampled_from(PARAM_TYPES))
        spec.setdefault("init", {}).setdefault(layer_type, {})[tensor] = draw(_random_init())


@st.composite
def mutated_specs(draw: st.DrawFn) -> Any:
    """A well-formed random spec with 1 to 3 fields replaced, inserted or deleted.

    Half the replacements keep the field's JSON type (an int for an int), so they reach past
    the type checks; the rest are arbitrary JSON or hostile values.
    """
    # deep copies: strategies share their sample objects between examples, never edit them
    spec = copy.deepcopy(draw(specs(max_layers=6)))
    hostile = st.one_of(st.sampled_from(HOSTILE), json_values(8), leaves)
    plausible = st.one_of(
        st.integers(-3, 70), st.floats(-2, 2), st.booleans(), st.sampled_from(KNOWN_STRINGS)
    )
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["arg", "init", "any", "any"]))
        if how != "any" and _sane(spec):
            draw(_set_layer_arg(spec) if how == "arg" else _set_init(spec))
            spec = json.loads(json.dumps(spec))
            continue
        paths = _containers(spec)
        path = draw(st.sampled_from(paths))
        node = _at(spec, path)
        op = draw(st.sampled_from(["replace", "replace", "insert", "delete"]))
        if isinstance(node, dict):
            if op == "insert" or not node:
                key = draw(st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=8)))
                node[key] = draw(st.one_of(plausible, hostile))
            elif op == "replace":
                key = draw(st.sampled_from(sorted(node)))
                node[key] = draw(st.one_of(_like(node[key]), hostile))
            else:
                del node[draw(st.sampled_from(sorted(node)))]
        else:
            if op == "insert" or not node:
                item = draw(st.one_of(hostile, st.sampled_from(node) if node else hostile))
                node.insert(draw(st.integers(0, len(node))), item)
            elif op == "replace":
                i = draw(st.integers(0, len(node) - 1))
                node[i] = draw(st.one_of(_like(node[i]), hostile))
            else:
                del node[draw(st.integers(0, len(node) - 1))]
        spec = json.loads(json.dumps(spec))  # no object twice in the tree
    return spec


# --- the properties -------------------------------------------------------------------------


def _forms(value: Any, rng: random.Random) -> list[tuple[str, Any]]:
    """The same input as a dict, as a JSON string and as a decoded uploaded file."""
    forms: list[tuple[str, Any]] = [("dict", value)]
    try:
        text = json.dumps(value)
    except (ValueError, TypeError, RecursionError):
        return forms
    if isinstance(value, (dict, list)):  # other JSON texts would name a file to read
        forms.append(("json", text))
        pretty = json.dumps(value, indent=rng.choice([None, 1, 2, "\t"]), ensure_ascii=False)
        try:
            raw = (rng.choice(["", " ", "\n", "\r\n\t "]) + pretty).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no file holds that
            return forms
        forms.append(("upload", raw.decode("utf-8")))
    return forms


def _load(obj: Any) -> Any:
    """``load_spec``: returns the Spec, or None for a SpecError (anything else propagates)."""
    try:
        return load_spec(obj)
    except SpecError as exc:
        assert str(exc), "a SpecError needs a message"
        return None


def check_spec_input(
    value: Any,
    build_params: int = BUILD_PARAMS,
    build_activations: int = BUILD_ACTIVATIONS,
    seed: int = 0,
) -> str:
    """Every property of one input; returns ``"rejected"``, ``"analysis error"`` or ``"ok"``."""
    rng = random.Random(seed)
    before = repr(value)
    results = [(form, _load(obj)) for form, obj in _forms(value, rng)]
    assert repr(value) == before, "load_spec changed its input"
    loaded = {form: spec.to_dict() if spec is not None else None for form, spec in results}
    first = next(iter(loaded.values()))
    for form, d in loaded.items():
        assert d == first, f"{form} form loads differently from the dict form"
    spec = results[0][1]
    if spec is None:
        return "rejected"
    check_spec(spec, build_params, build_activations)
    return "ok" if analyze(spec).ok else "analysis error"


def check_spec(spec: Any, build_params: int, build_activations: int) -> None:
    """The properties of a spec that loaded."""
    d = spec.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert load_spec(d).to_dict() == d, "to_dict does not round-trip"
    assert load_spec(json.loads(text)).to_dict() == d, "to_dict does not round-trip through JSON"
    d["layers"].append({"type": "ReLU"})  # a caller's edit must not reach the spec
    assert spec.to_dict() != d
    d = spec.to_dict()

    link = encode_design(d)
    if len(link) <= MAX_LINK_CHARS:
        assert decode_design(link) == d, "share link does not round-trip"
    else:
        with pytest.raises(SpecError):
            decode_design(link)

    analysis = analyze(spec)
    assert analyze(d) == analysis, "analysis of the dict differs from that of the spec"
    assert len(analysis.layers) == len(spec.layers)
    assert analysis.total_params == sum(r.params or 0 for r in analysis.layers)
    analysis.to_frame()
    if not analysis.ok:
        assert analysis.error and analysis.error_index is not None
        assert [r.error is not None for r in analysis.layers].count(True) == 1
        assert all(r.output_shape is None for r in analysis.layers[analysis.error_index :])
        with pytest.raises(SpecError):
            generate_code(spec)
        with pytest.raises(SpecError):
            build_model(spec)
        row = analysis.layers[analysis.error_index]
        small = (
            math.prod(spec.input_shape) <= 100_000
            and analysis.total_params <= build_params
            and _modest(spec.layers[: analysis.error_index + 1])
        )
        if row.torch_fails and small:
            assert torch_raises(spec, analysis), (
                f"torch runs what the analysis refuses: {row.error}"
            )
        return

    for functional in (False, True):
        code = generate_code(spec, functional_activations=functional)
        ast.parse(code)

    activations = 2 * (math.prod(spec.input_shape) + sum(r.activations for r in analysis.layers))
    if analysis.total_params > build_params or activations > build_activations:
        return
    model = build_model(spec)
    assert [n for n, _ in model.named_children()] == [layer.name for layer in spec.layers]
    assert sum(p.numel() for p in model.parameters()) == analysis.total_params
    with torch.no_grad():
        out = model(torch.randn(2, *spec.input_shape))
    assert tuple(out.shape) == (2, *analysis.output_shape), "forward shape differs from analysis"
    hists = weight_histograms(model)
    assert [h.name for h in hists] == [n for n, _ in model.named_parameters()]


# --- open bugs ------------------------------------------------------------------------------

# Failures already found and kept as strict-xfail regressions (tests/regressions/*.json, and
# tests/test_hostile.py): the random tests step over them, so that CI stays green while they
# are open. Remove an entry with its fix; the regression's strict xfail says when.
OPEN_BUGS: dict[str, tuple[tuple[type[BaseException], ...], str, str]] = {
    # "what goes wrong": ((exception types), "function in the traceback", "text in the message")
    # none open: the campaign's init-range and dirac-groups bugs were fixed in 172263f
}


def open_bug(exc: BaseException) -> str | None:
    """The OPEN_BUGS entry this failure is, if any."""
    functions = {frame.name for frame in traceback.extract_tb(exc.__traceback__)}
    for name, (types, function, text) in OPEN_BUGS.items():
        if isinstance(exc, types) and function in functions and text in str(exc):
            return name
    return None


def check_skipping_open_bugs(check: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return check(*args, **kwargs)
    except Exception as exc:
        if open_bug(exc) is None:
            raise
        assume(False)  # a known, open bug: not this run's news


def _modest(layers: Any, limit: int = 4096) -> bool:
    """No integer argument above ``limit``: building the layers by hand allocates little (an
    explicit ``num_features=2**31 - 1`` would allocate 16 GB of running statistics)."""

    def ints(value: Any) -> list[int]:
        if isinstance(value, list):
            return [v for item in value for v in ints(item)]
        return [value] if isinstance(value, int) and not isinstance(value, bool) else []

    return all(abs(v) <= limit for layer in layers for a in layer.args.values() for v in ints(a))


def torch_raises(spec: Any, analysis: Any) -> bool:
    """Whether plain torch refuses the stack up to the failing layer (built as given, with
    explicit ``in_*`` arguments kept), on a batch of 2."""
    layers = []
    with torch.random.fork_rng(devices=[]):
        try:
            for layer, row in zip(spec.layers[: analysis.error_index + 1], analysis.layers):
                key = layer.entry.in_key
                kwargs = constructor_kwargs(layer, row.input_shape[0] if key else None)
                if key and layer.args.get(key) is not None:
                    kwargs[key] = layer.args[key]
                layers.append(layer.entry.cls(**kwargs))
            x = torch.randn(2, *spec.input_shape)
            with torch.no_grad():
                for module in layers:
                    x = module(x)
        except Exception:
            return True
    return False


# --- the tests ------------------------------------------------------------------------------


@fuzz(4)
@given(json_values())
def test_arbitrary_json_only_spec_errors(value):
    check_skipping_open_bugs(check_spec_input, value)


@fuzz(4)
@given(st.dictionaries(st.sampled_from(TOP_KEYS), json_values(12), max_size=6))
def test_arbitrary_top_level_fields_only_spec_errors(value):
    check_skipping_open_bugs(check_spec_input, value)


@fuzz(5)
@given(mutated_specs(), st.integers(0, 2**16))
def test_mutated_specs_only_spec_errors_and_what_loads_builds(value, seed):
    check_skipping_open_bugs(check_spec_input, value, seed=seed)


@fuzz(2)
@given(specs())
def test_well_formed_specs_load_analyze_build_and_export(value):
    assert check_skipping_open_bugs(check_spec_input, value) in ("ok", "analysis error")


# --- import from code (builder.importer, when it exists) -------------------------------------

try:
    from builder.importer import spec_from_code
except ImportError:  # being written; the tests below skip until it lands
    spec_from_code = None

needs_importer = pytest.mark.skipif(spec_from_code is None, reason="builder.importer not there yet")


def check_code_input(source: str, input_shape: list[int]) -> str:
    """``spec_from_code`` raises only SpecError; what it returns loads and analyses."""
    try:
        spec = spec_from_code(source, input_shape)
    except SpecError as exc:
        assert str(exc)
        return "rejected"
    spec = load_spec(spec.to_dict() if hasattr(spec, "to_dict") else spec)
    check_spec(spec, BUILD_PARAMS, BUILD_ACTIVATIONS)
    return "ok"


@st.composite
def mutated_code(draw: st.DrawFn) -> tuple[str, list[int]]:
    """The export of a random working spec, with a few lines or tokens damaged."""
    spec = draw(specs(max_layers=6))
    analysis = analyze(spec)
    if not analysis.ok:
        spec = {
            "input_shape": [3, 8, 8],
            "layers": [{"type": "Conv2d", "out_channels": 2, "kernel_size": 3}],
        }
    code = generate_code(spec, functional_activations=draw(st.booleans()))
    lines = code.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "token", "insert", "cut"]))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "token":
            words = lines[i].split(" ")
            k = draw(st.integers(0, len(words) - 1))
            words[k] = str(draw(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=6))))
            lines[i] = " ".join(words)
        elif op == "insert":
            lines.insert(i, draw(st.text(max_size=40)))
        else:
            lines = lines[:i]
        if not lines:
            break
    return "\n".join(lines), list(spec["input_shape"])


@needs_importer
@fuzz(3)
@given(st.text(max_size=400), st.sampled_from([[3, 32, 32], [1, 28, 28], [20]]))
def test_import_arbitrary_text_only_spec_errors(source, input_shape):
    check_skipping_open_bugs(check_code_input, source, input_shape)


@needs_importer
@fuzz(3)
@given(mutated_code())
def test_import_mutated_code_only_spec_errors(case):
    check_skipping_open_bugs(check_code_input, *case)


# --- hostile entry points: links, uploads, pasted code, extreme sizes -------------------------
#
# Each check runs its entry point under ``bounded``: the call must return or raise SpecError
# within a time bound (the campaign's ``--bound``; CI allows more, the machine is shared) and
# without its peak memory growing by more than ``MEMORY_BOUND``. Links and uploaded text are
# decoded with every way of opening a file refused (``no_files``): a design never names a file.

CI_BOUND = 10.0  # seconds one call may take in CI (the campaign checks 2 s)
MEMORY_BOUND = 1 << 30  # bytes of peak RSS one call may add
SLOWEST: dict[str, list[float]] = {}  # entry point -> [max seconds, max MB], for the campaign


class Overrun(Exception):
    """A bounded call ran past its hard time limit and was interrupted."""


_OPEN = builtins.open  # the real one, for the measurements made while ``no_files`` is on


def _status_kb(field: str) -> int:
    try:
        with _OPEN("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak() -> bool:
    """Reset this process's VmHWM to its RSS now (Linux 4.0+); False where that is not possible."""
    try:
        with _OPEN("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


@contextlib.contextmanager
def _hard_limit(name: str, seconds: float) -> Iterator[None]:
    """Raise ``Overrun`` in this thread after ``seconds`` (only in the main thread, via SIGALRM:
    a call stuck inside C code is interrupted when it returns to Python)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise Overrun(f"{name}: still running after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _timed(name: str, fn: Any, args: Any, kwargs: Any, bound: float) -> tuple[Any, float, int]:
    """One call: its result (or SpecError), the CPU seconds this process spent on it, and bytes
    its peak RSS grew by. CPU time, not wall-clock time: other jobs on a shared machine slow the
    clock (a 0.5 s PNG took 2.3 s of wall time at load 8), not the work; a hang is still caught
    by the wall-clock ``_hard_limit``."""
    rss = _status_kb("VmRSS")
    measured = _reset_peak()
    start = time.process_time()
    try:
        with _hard_limit(name, 5 * bound + 5):
            result = fn(*args, **kwargs)
    except SpecError as exc:
        assert str(exc), f"{name}: a SpecError needs a message"
        result = exc
    took = time.process_time() - start
    grew = 1024 * max(0, _status_kb("VmHWM") - rss) if measured else 0
    return result, took, grew


def bounded(name: str, fn: Any, *args: Any, bound: float = CI_BOUND, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``: its result, or the ``SpecError`` it raised (returned, with a
    message). Any other exception propagates. A call past ``bound`` CPU seconds is timed once
    more and fails if it is over again; one past ``5 * bound + 5`` wall-clock seconds is
    interrupted (``Overrun``); one whose peak RSS grows by more than
    ``MEMORY_BOUND`` fails. The slowest time and the largest growth per ``name`` go into
    ``SLOWEST``."""
    result, took, grew = _timed(name, fn, args, kwargs, bound)
    if took > bound:
        result, again, grew = _timed(name, fn, args, kwargs, bound)
        took = min(took, again)
    worst = SLOWEST.setdefault(name, [0.0, 0.0])
    worst[0], worst[1] = max(worst[0], took), max(worst[1], grew / 2**20)
    assert took <= bound, f"{name}: over the time bound\n{took:.2f} s > {bound:.1f} s"
    assert grew <= MEMORY_BOUND, f"{name}: over the memory bound\n{grew / 2**20:,.0f} MB"
    return result


@contextlib.contextmanager
def no_files() -> Iterator[list[str]]:
    """Within the block every way of opening a file raises ``PermissionError``; the list yielded
    collects what was asked for (the caller asserts it stays empty: a target that catches the
    error must not hide the attempt)."""
    asked: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        asked.append(repr(args[0] if args else kwargs)[:120])
        raise PermissionError("the fuzz guard refuses to open files here")

    targets = [(builtins, "open"), (io, "open"), (os, "open"), (pathlib.Path, "open")]
    saved = [(owner, attr, getattr(owner, attr)) for owner, attr in targets]
    for owner, attr in targets:
        setattr(owner, attr, refuse)
    try:
        yield asked
    finally:
        for owner, attr, original in saved:
            setattr(owner, attr, original)


def _same_outcome(name: str, got: Any, expected: Any) -> str:
    """``got`` (a dict or SpecError) against the oracle's ``expected`` (the same kinds)."""
    if isinstance(expected, SpecError):
        assert isinstance(got, SpecError), f"{name} accepts what the direct check refuses"
        return "rejected"
    assert not isinstance(got, SpecError), f"{name} refuses what the direct check accepts: {got}"
    assert got == expected, f"{name} returns another value than the direct check"
    return "ok"


def _as_dict(result: Any) -> Any:
    """A returned object's ``to_dict()``; a SpecError stays itself."""
    return result if isinstance(result, SpecError) else result.to_dict()


def _direct(fn: Any, data: Any) -> Any:
    """``fn(data).to_dict()``, or the SpecError it raised."""
    try:
        return fn(data).to_dict()
    except SpecError as exc:
        return exc


PATHS = [
    "/dev/zero",
    "/dev/urandom",
    "/dev/stdin",
    "/etc/passwd",
    "/proc/self/environ",
    "~/.ssh/id_rsa",
    "../../etc/passwd",
    "file:///etc/passwd",
    "C:\\Windows\\win.ini",
    "\\\\server\\share\\design.json",
    "design.json",
    str(Path(__file__).resolve()),
    str(Path(__file__).resolve().parents[1] / "pyproject.toml"),
]
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="


def _not_objects() -> st.SearchStrategy[Any]:
    """JSON values that are not objects: paths, a design's JSON as a string, lists, numbers."""
    return st.one_of(
        st.sampled_from(PATHS),
        st.builds(lambda p, tail: p + tail, st.sampled_from(PATHS), st.sampled_from(["\n", " "])),
        st.text(max_size=30),
        st.builds(json.dumps, specs(max_layers=3)),
        st.lists(json_values(6), max_size=4),
        st.lists(specs(max_layers=2), min_size=1, max_size=2),
        leaves,
    )


def _raw_links() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=40),
        st.builds(lambda s: "1" + s, st.text(alphabet=_B64, max_size=80)),
        st.sampled_from(PATHS),
        st.sampled_from(["1", "0" + "A" * 40, "1" + "A" * 20_000]),
    )


def link_cases() -> st.SearchStrategy[dict[str, Any]]:
    """Share links: packed non-objects, packed designs, raw strings."""
    packed = st.one_of(_not_objects(), specs(max_layers=4), mutated_specs(), json_values())
    return st.one_of(
        st.builds(lambda v: {"input": v, "form": "packed"}, packed),
        st.builds(lambda v: {"input": v, "form": "raw"}, _raw_links()),
    )


def check_link_input(value: Any, form: str, bound: float = CI_BOUND) -> str:
    """``decode_design``: only SpecError, no file opened, a non-object always refused, a design
    decoded as ``load_spec`` loads it directly."""
    link = pack(value) if form == "packed" else value
    with no_files() as asked:
        got = bounded("decode_design", decode_design, link, bound=bound)
    assert not asked, f"decode_design opened {asked}"
    if form == "raw":
        if not isinstance(got, SpecError):
            assert isinstance(got, dict) and load_spec(got).to_dict() == got
        return "rejected" if isinstance(got, SpecError) else "ok"
    data = json.loads(json.dumps(value))  # what the link holds
    if not isinstance(data, dict):
        assert isinstance(got, SpecError), f"decode_design accepts a JSON {type(data).__name__}"
        return "not an object"
    if len(link) > MAX_LINK_CHARS:
        assert isinstance(got, SpecError), "decode_design accepts a link over MAX_LINK_CHARS"
        return "too long"
    return _same_outcome("decode_design", got, _direct(load_spec, data))


def _with_bom(text: str) -> str:
    return "\ufeff" + text


def text_cases() -> st.SearchStrategy[dict[str, Any]]:
    """Text as load_spec gets it from an upload: str, bytes or bytearray."""
    texts = st.one_of(
        st.text(max_size=60),
        st.sampled_from(PATHS),
        st.builds(json.dumps, _not_objects()),
        st.builds(json.dumps, json_values()),
        st.builds(json.dumps, specs(max_layers=4)),
        st.builds(lambda s: _with_bom(json.dumps(s, indent=1)), specs(max_layers=3)),
        st.builds(lambda s: json.dumps(json.dumps(s)), specs(max_layers=2)),
    )
    return st.one_of(
        st.builds(lambda t, f: {"input": t, "form": f}, texts, st.sampled_from(["str", "bytes"])),
        st.builds(lambda b: {"input": b.hex(), "form": "hex"}, st.binary(max_size=60)),
    )


def check_load_text(text: str, form: str, bound: float = CI_BOUND) -> str:
    """``load_spec`` on text: JSON, never a path; only SpecError; the same as Python's ``json``
    then ``load_spec`` of the dict. ``form``: ``str``, ``bytes`` (UTF-8 of ``text``, with
    surrogates escaped) or ``hex`` (``text`` is arbitrary bytes in hex; given as a bytearray)."""
    if form == "str":
        obj: Any = text
    elif form == "bytes":
        obj = text.encode("utf-8", "surrogatepass")
    else:
        obj = bytearray.fromhex(text)
    with no_files() as asked:
        got = bounded("load_spec", load_spec, obj, bound=bound)
    assert not asked, f"load_spec opened {asked}"
    try:  # the oracle: Python's json reading the same text
        data = json.loads(obj.removeprefix("\ufeff") if isinstance(obj, str) else obj)
    except (ValueError, RecursionError):
        assert isinstance(got, SpecError), "load_spec accepts text that is not JSON"
        return "not JSON"
    if not isinstance(data, dict):
        assert isinstance(got, SpecError), f"load_spec accepts a JSON {type(data).__name__}"
        return "not an object"
    return _same_outcome("load_spec", _as_dict(got), _direct(load_spec, data))


def _assignments() -> st.SearchStrategy[dict[str, Any]]:
    values = st.one_of(
        leaves,
        st.lists(st.sampled_from([*REGISTRY, "Conv3d", ""]), max_size=4),
        st.lists(st.sampled_from([*LOCKABLE, "x"]), max_size=3),
        st.lists(st.sampled_from([1, 10, 0, -1, 2**31 - 1, 2**40, 1.5, None]), max_size=4),
    )
    keys = st.sampled_from([*ASSIGNMENT_KEYS, "title", "x"])
    return st.dictionaries(keys, values, max_size=5)


def assignment_cases() -> st.SearchStrategy[dict[str, Any]]:
    packed = st.one_of(_not_objects(), _assignments(), json_values())
    return st.one_of(
        st.builds(lambda v: {"input": v, "form": "packed"}, packed),
        st.builds(lambda v: {"input": v, "form": "raw"}, _raw_links()),
    )


def check_assignment_input(value: Any, form: str, bound: float = CI_BOUND) -> str:
    """``decode_assignment``: only SpecError, no file opened, a non-object always refused, an
    object validated as ``load_assignment`` validates it directly."""
    link = pack(value) if form == "packed" else value
    with no_files() as asked:
        got = bounded("decode_assignment", decode_assignment, link, bound=bound)
    assert not asked, f"decode_assignment opened {asked}"
    got = _as_dict(got)
    if form == "raw":
        return "rejected" if isinstance(got, SpecError) else "ok"
    data = json.loads(json.dumps(value))
    if not isinstance(data, dict):
        assert isinstance(got, SpecError), f"decode_assignment accepts a JSON {type(data).__name__}"
        return "not an object"
    if len(link) > MAX_LINK_CHARS:
        assert isinstance(got, SpecError), "decode_assignment accepts a link over MAX_LINK_CHARS"
        return "too long"
    return _same_outcome("decode_assignment", got, _direct(load_assignment, data))


# pasted code whose call graph, loops or nesting would make a careless reader blow up

_CODE = """import torch
import torch.nn as nn
import torch.nn.functional as F


{classes}
net = {net}()
{usage}"""
_CLASS = """class {name}({base}):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.fc1 = nn.Linear(6 * 28 * 28, {out})
{init}
    def forward(self, x):
        x = F.relu({conv})
        x = torch.flatten(x, 1)
{forward}        x = self.fc1(x)
        return x
{methods}
"""
_LOOP_SIZES = ["0", "1", "10", "10 ** 6", "10 ** 9", "2 ** 31 - 1", "2 ** 63", "10 ** 100"]
_ZEROS = "nn.init.zeros_(self.fc1.bias)"


def _block(lines: list[str], indent: int) -> str:
    return "".join(" " * indent + line + "\n" for line in lines)


def _method(name: str, body: list[str], param: str = "") -> str:
    return f"\n    def {name}(self{param}):\n" + _block(body or ["pass"], 8)


def _nested(headers: list[str], inner: list[str]) -> list[str]:
    """``headers`` (``for ...:`` lines) nested one in the other around ``inner``."""
    lines = [" " * (4 * depth) + header for depth, header in enumerate(headers)]
    return lines + [" " * (4 * len(headers)) + line for line in inner]


def _calls(recipe: dict[str, Any], parts: dict[str, Any]) -> None:
    """Init methods calling each other: a chain (each calls the next ``calls`` times: ``calls **
    depth`` leaf calls if followed naively), or a cycle (recursion)."""
    n, calls, kind = recipe["depth"], recipe["calls"], recipe["kind"]
    for i in range(n):
        following = (i + 1) % n if kind == "cycle" else i + 1
        parts["methods"] += _method(f"init_w{i}", [f"self.init_w{following}()"] * calls)
    if kind == "chain":
        leaf = {
            "zeros": [_ZEROS],
            "modules": [
                "for m in self.modules():",
                "    if isinstance(m, nn.Linear):",
                "        nn.init.zeros_(m.bias)",
            ],
            "apply": ["self.apply(self.init_one)"],
        }[recipe["leaf"]]
        parts["methods"] += _method(f"init_w{n}", leaf)
        if recipe["leaf"] == "apply":
            body = ["if isinstance(m, nn.Conv2d):", "    nn.init.kaiming_normal_(m.weight)"]
            parts["methods"] += _method("init_one", body, ", m")
    if recipe["caller"] in ("init", "both"):
        parts["init"].append("self.init_w0()")
    if recipe["caller"] in ("usage", "both"):
        parts["usage"].append("net.init_w0()")


def _loops(recipe: dict[str, Any], parts: dict[str, Any]) -> None:
    """``for`` loops over ``range(n)`` (or over ``self.modules()``), nested ``nest`` deep."""
    n, nest, where = recipe["n"], recipe["nest"], recipe["where"]
    headers = [f"for i{j} in range({n}):" for j in range(nest)]
    if where == "init":
        parts["init"] += _nested(headers, [_ZEROS])
    elif where == "method":
        parts["methods"] += _method("init_w0", _nested(headers, [_ZEROS]))
        parts["init"].append("self.init_w0()")
    elif where == "forward":
        parts["forward"] += _nested(headers, ["x = F.relu(x)"])
    elif where == "usage":
        parts["methods"] += _method("init_w0", [_ZEROS])
        parts["usage"] += _nested(headers, ["net.init_w0()"])
    else:  # nested walks over the modules
        headers = ["for m0 in self.modules():"]
        headers += [f"for m{j} in m{j - 1}.modules():" for j in range(1, nest)]
        last = f"m{nest - 1}"
        inner = [f"if isinstance({last}, nn.Linear):", f"    nn.init.zeros_({last}.bias)"]
        parts["methods"] += _method("init_w0", _nested(headers, inner))
        parts["init"].append("self.init_w0()")


def _expression(recipe: dict[str, Any], parts: dict[str, Any]) -> None:
    """One expression nested ``depth`` deep (parenthesized, a flat chain, calls, attributes)."""
    d, op, where = recipe["depth"], recipe["op"], recipe["where"]
    numeric = {
        "paren": "(1 + " * d + "1" + ")" * d,
        "flat": " + ".join(["1"] * d),
        "power": " ** ".join(["2"] * d),
        "unary": "-" * d + "1",
        "mul": " * ".join(["1"] * d),
    }
    if op in numeric:
        text = numeric[op]
        if where == "arg":
            parts["out"] = text
        elif where == "const":
            parts["init"].insert(0, f"k = {text}")
        else:
            parts["usage"].append(f"print({text})")
    elif op == "call":
        parts["conv"] = "F.relu(" * d + "self.conv1(x)" + ")" * d
    elif op == "attr":
        parts["forward"].append("x = self" + ".fc1" * d + "(x)")
    else:
        parts["forward"].append("x = x" + "[0]" * d)


def _statements(recipe: dict[str, Any], parts: dict[str, Any]) -> None:
    """Many statements, layers, methods or calls (wide rather than deep)."""
    n, where = recipe["n"], recipe["where"]
    if where == "forward":
        parts["forward"] += ["x = F.relu(x)"] * n
    elif where == "layers":
        parts["init"] += [f"self.r{i} = nn.ReLU()" for i in range(n)]
        parts["forward"] += [f"x = self.r{i}(x)" for i in range(n)]
    elif where == "init":
        parts["init"] += [_ZEROS] * n
    elif where == "methods":
        for i in range(n):
            parts["methods"] += _method(f"init_w{i}", [_ZEROS])
            parts["init"].append(f"self.init_w{i}()")
    else:  # one method called n times
        parts["methods"] += _method("init_w0", ["self.init_w1()"] * n)
        parts["methods"] += _method("init_w1", [_ZEROS])
        parts["init"].append("self.init_w0()")


def _long_lines(recipe: dict[str, Any], parts: dict[str, Any]) -> None:
    """Long lines, many problems on one line or on many: the messages quote the source."""
    n, how = recipe["n"], recipe["how"]
    if how == "semicolons":
        parts["init"].append("; ".join(f"self.a{i} = foo({i})" for i in range(n)))
    elif how == "lines":
        parts["init"] += [f"self.a{i} = foo({i})" for i in range(n)]
    elif how == "arguments":
        parts["init"].append("self.a = foo(" + "1, " * n + ")")
    else:  # a long string literal, then a problem on the same line
        parts["init"].append(f"self.name = {'x' * n!r}; self.b = foo()")


def callgraph_source(recipe: dict[str, Any]) -> str:
    """The PyTorch source ``recipe`` describes (see ``callgraph_cases``)."""
    parts: dict[str, Any] = {
        "init": [],
        "forward": [],
        "methods": "",
        "usage": [],
        "out": "10",
        "conv": "self.conv1(x)",
    }
    kind = recipe["kind"]
    if kind in ("chain", "cycle"):
        _calls(recipe, parts)
    elif kind == "loops":
        _loops(recipe, parts)
    elif kind == "expression":
        _expression(recipe, parts)
    elif kind == "statements":
        _statements(recipe, parts)
    elif kind == "long_lines":
        _long_lines(recipe, parts)
    fields = {
        "init": _block(parts["init"], 8),
        "forward": _block(parts["forward"], 8),
        "methods": parts["methods"],
        "out": parts["out"],
        "conv": parts["conv"],
    }
    count = recipe.get("classes", 1)
    classes = []
    for i in range(count):
        base = f"Net{i - 1}" if recipe.get("inherit") and i else "nn.Module"
        classes.append(_CLASS.format(name=f"Net{i}", base=base, **fields))
    return _CODE.format(
        classes="\n\n".join(classes), net=f"Net{count - 1}", usage=_block(parts["usage"], 0)
    )


def callgraph_cases() -> st.SearchStrategy[dict[str, Any]]:
    """Generated sources (``callgraph_source``) with their recipes, for ``[3, 32, 32]``."""
    depths = st.one_of(st.integers(1, 70), st.sampled_from([199, 200, 201, 1000, 5000, 12_000]))
    many = st.one_of(st.integers(1, 300), st.sampled_from([199, 200, 201, 1000, 2500, 6000]))
    recipes = st.one_of(
        st.fixed_dictionaries(
            {
                "kind": st.just("chain"),
                "depth": st.integers(1, 60),
                "calls": st.integers(1, 6),
                "leaf": st.sampled_from(["zeros", "modules", "apply"]),
                "caller": st.sampled_from(["init", "usage", "both"]),
            }
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("cycle"),
                "depth": st.integers(1, 6),
                "calls": st.integers(1, 4),
                "caller": st.sampled_from(["init", "usage", "both"]),
            }
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("loops"),
                "n": st.sampled_from(_LOOP_SIZES),
                "nest": st.integers(1, 12),
                "where": st.sampled_from(["init", "method", "forward", "usage", "modules"]),
            }
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("expression"),
                "depth": depths,
                "op": st.sampled_from(["paren", "flat", "power", "unary", "mul", "call", "attr"]),
                "where": st.sampled_from(["arg", "const", "usage"]),
            }
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("statements"),
                "n": many,
                "where": st.sampled_from(["forward", "layers", "init", "methods", "calls"]),
            }
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("long_lines"),
                "n": st.one_of(st.integers(1, 5000), st.just(49_000)),
                "how": st.sampled_from(["semicolons", "lines", "arguments", "string"]),
            }
        ),
    )
    extra = st.fixed_dictionaries(
        {"classes": st.sampled_from([1, 1, 1, 2, 10, 120]), "inherit": st.booleans()}
    )
    return st.builds(
        lambda r, e: {
            "input": callgraph_source({**r, **e}),
            "input_shape": [3, 32, 32],
            "recipe": {**r, **e},
        },
        recipes,
        extra,
    )


def check_code_bounded(source: str, input_shape: list[int], bound: float = CI_BOUND) -> str:
    """``spec_from_code`` returns a spec that loads, or raises SpecError, within the bound."""
    got = bounded("spec_from_code", spec_from_code, source, input_shape, bound=bound)
    if isinstance(got, SpecError):
        return "rejected"
    assert load_spec(got.to_dict()).to_dict() == got.to_dict()
    return "ok"


# valid designs at the extremes: sizes up to 2**31 - 1, 200 layers, 64-character names

_BIG = st.sampled_from([1, 1, 2, 3, 7, 64, 2**16, 2**30, 2**31 - 2, 2**31 - 1])
_BIG_SIZE = st.one_of(_BIG, st.lists(_BIG, min_size=2, max_size=2))
_SHAPES = [
    [3, 32, 32],
    [1, 1, 1],
    [3, 1024, 1024],
    [1, 1, 3 * 2**20],
    [1, 3 * 2**20, 1],
    [64, 128, 128],
    [3 * 2**20],
    [1],
]


@st.composite
def _extreme_layer(draw: st.DrawFn, gentle: bool) -> dict[str, Any]:
    """A layer with extreme arguments; ``gentle`` ones keep an image design valid."""
    if gentle:
        kind = draw(st.sampled_from(["Conv1", "Adaptive", "Pool1", "ReLU", "Identity", "BN2"]))
    else:
        kinds = ["Conv2d", "Pool", "Adaptive", "Linear", "Flatten", "BN1", "Dropout", "Softmax"]
        kind = draw(st.sampled_from(kinds))
    if kind == "Conv1":
        return {"type": "Conv2d", "out_channels": draw(_BIG), "kernel_size": 1}
    if kind == "Pool1":
        return {"type": draw(st.sampled_from(["MaxPool2d", "AvgPool2d"])), "kernel_size": 1}
    if kind == "Adaptive":
        size = st.one_of(_BIG, st.lists(st.one_of(_BIG, st.none()), min_size=2, max_size=2))
        pool = draw(st.sampled_from(["AdaptiveAvgPool2d", "AdaptiveMaxPool2d"]))
        return {"type": pool, "output_size": draw(size)}
    if kind == "Conv2d":
        layer = {"type": "Conv2d", "out_channels": draw(_BIG), "kernel_size": draw(_BIG_SIZE)}
        if draw(st.booleans()):
            layer["padding"] = draw(st.one_of(_BIG_SIZE, st.sampled_from(["same", "valid"])))
        if draw(st.booleans()):
            layer["dilation"] = draw(_BIG_SIZE)
        if layer.get("padding") != "same" and draw(st.booleans()):  # "same" needs stride 1
            layer["stride"] = draw(_BIG_SIZE)
        return layer
    if kind == "Pool":
        pool = draw(st.sampled_from(["MaxPool2d", "AvgPool2d"]))
        layer = {"type": pool, "kernel_size": draw(_BIG_SIZE), "ceil_mode": draw(st.booleans())}
        if draw(st.booleans()):
            layer["stride"] = draw(_BIG_SIZE)
        return layer
    if kind == "Linear":
        return {"type": "Linear", "out_features": draw(_BIG)}
    if kind == "Softmax":
        return {"type": "Softmax", "dim": draw(st.sampled_from([0, 1, -1]))}
    simple = {"BN1": "BatchNorm1d", "BN2": "BatchNorm2d"}
    return {"type": simple.get(kind, kind)}


@st.composite
def extreme_cases(draw: st.DrawFn) -> dict[str, Any]:
    """An extreme but valid-looking design, with memory-estimate arguments and a PNG scale."""
    shape = draw(st.sampled_from(_SHAPES))
    count = draw(st.one_of(st.integers(1, 8), st.integers(150, 200), st.just(200)))
    gentle = len(shape) == 3 and draw(st.booleans())
    layers = [draw(_extreme_layer(gentle)) for _ in range(count)]
    if gentle and draw(st.booleans()):
        layers[-2:] = [{"type": "Flatten"}, {"type": "Linear", "out_features": draw(_BIG)}]
    if draw(st.booleans()):
        letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        stem = draw(st.text(alphabet=letters + "0123456789_", min_size=59, max_size=59))
        head = draw(st.sampled_from(letters))
        for i, layer in enumerate(layers):
            layer["name"] = f"{head}{stem}{i:04d}"  # 64 characters
    design = {"input_shape": shape, "layers": layers, "seed": draw(st.sampled_from([0, 2**63 - 1]))}
    memory = {
        "batch_size": draw(st.sampled_from([1, 2, 1024, MAX_BATCH])),
        "dtype": draw(st.sampled_from(sorted(DTYPE_BYTES))),
        "optimizer": draw(st.sampled_from(sorted(OPTIMIZER_MOMENTS))),
    }
    scale = draw(st.sampled_from([0.01, 0.5, 1.0, 2.0, 4.0, 1e6]))
    return {"input": design, "memory": memory, "scale": scale}


def _png_pixels(png: bytes) -> int:
    """Width × height from a PNG's IHDR chunk (read independently of Pillow)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR", "not a PNG"
    return int.from_bytes(png[16:20], "big") * int.from_bytes(png[20:24], "big")


def check_extreme(
    design: dict[str, Any], memory: dict[str, Any], scale: float, bound: float = CI_BOUND
) -> str:
    """Receptive field, memory estimate, SVG and PNG of an extreme design: each returns (with a
    result of the right form) or raises SpecError, within the time and memory bounds."""
    spec = bounded("load_spec", load_spec, design, bound=bound)
    if isinstance(spec, SpecError):
        return "rejected"
    analysis = bounded("analyze", analyze, spec, bound=bound)
    records = bounded("receptive_field", receptive_field, spec, bound=bound)
    if not isinstance(records, SpecError):
        assert len(records) == len(spec.layers) + 1, "receptive_field: one record per layer"
    estimate = bounded("memory_estimate", memory_estimate, spec, **memory, bound=bound)
    if analysis.ok:
        assert not isinstance(estimate, SpecError), f"memory_estimate refuses: {estimate}"
        size = DTYPE_BYTES[memory["dtype"]]
        assert estimate.parameters == analysis.total_params * size
    svg = bounded("diagram_svg", diagram_svg, spec, bound=bound)
    if not isinstance(svg, SpecError):
        ElementTree.fromstring(svg.encode("utf-8"))  # well-formed XML
    png = bounded("diagram_png", diagram_png, spec, scale, bound=bound)
    if not isinstance(png, SpecError):
        assert _png_pixels(png) <= MAX_PNG_PIXELS * 1.01, "diagram_png over its pixel budget"
    return "ok" if analysis.ok else "analysis error"


def _bound(case: dict[str, Any], bound: float | None) -> float:
    """The bound given, else the one the campaign found the case at, else ``CI_BOUND``."""
    return bound if bound is not None else case.get("bound", CI_BOUND)


HOSTILE_CHECKS: dict[str, Any] = {  # case, bound=None -> outcome
    "link": lambda case, bound=None: check_link_input(
        case["input"], case["form"], _bound(case, bound)
    ),
    "text": lambda case, bound=None: check_load_text(
        case["input"], case["form"], _bound(case, bound)
    ),
    "assignment": lambda case, bound=None: check_assignment_input(
        case["input"], case["form"], _bound(case, bound)
    ),
    "callgraph": lambda case, bound=None: check_code_bounded(
        case["input"], case["input_shape"], _bound(case, bound)
    ),
    "extreme": lambda case, bound=None: check_extreme(
        case["input"], case["memory"], case["scale"], _bound(case, bound)
    ),
}
HOSTILE_STRATEGIES: dict[str, Any] = {
    "link": link_cases,
    "text": text_cases,
    "assignment": assignment_cases,
    "callgraph": callgraph_cases,
    "extreme": extreme_cases,
}


@fuzz(2)
@given(link_cases())
def test_links_hold_designs_only_never_a_path(case):
    check_skipping_open_bugs(HOSTILE_CHECKS["link"], case)


@fuzz(2)
@given(text_cases())
def test_uploaded_text_is_json_never_a_path(case):
    check_skipping_open_bugs(HOSTILE_CHECKS["text"], case)


@fuzz(1)
@given(assignment_cases())
def test_assignment_links_only_spec_errors(case):
    check_skipping_open_bugs(HOSTILE_CHECKS["assignment"], case)


@settings(fuzz(1), suppress_health_check=list(HealthCheck))
@given(callgraph_cases())
def test_import_call_graphs_in_bounded_time(case):
    check_skipping_open_bugs(HOSTILE_CHECKS["callgraph"], case)


@settings(
    max_examples=max(5, EXAMPLES // 4), deadline=None, suppress_health_check=list(HealthCheck)
)
@given(extreme_cases())
def test_extreme_designs_receptive_memory_diagram_bounded(case):
    check_skipping_open_bugs(HOSTILE_CHECKS["extreme"], case)


# --- failures the long campaign found, kept ---------------------------------------------------

CHECKS = {
    "spec": lambda case: check_spec_input(case["input"], seed=case.get("seed", 0)),
    "code": lambda case: check_code_input(case["input"], case["input_shape"]),
    **HOSTILE_CHECKS,
}


def _regression_cases() -> list[Any]:
    cases = []
    for path in sorted(REGRESSIONS.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        marks = []
        if case.get("xfail"):
            marks.append(pytest.mark.xfail(strict=True, reason=case["xfail"]))
        if case["property"] == "code":
            marks.append(needs_importer)
        cases.append(pytest.param(case, id=path.stem, marks=marks))
    return cases


def _conv_init(init: dict[str, Any], out_channels: int = 2) -> dict[str, Any]:
    conv = {"type": "Conv2d", "out_channels": out_channels, "kernel_size": 3}
    return {"input_shape": [2, 6, 6], "layers": [conv], "init": {"Conv2d": {"weight": init}}}


def _linear_init(init: dict[str, Any]) -> dict[str, Any]:
    layers = [{"type": "Linear", "out_features": 3}]
    return {"input_shape": [4], "layers": layers, "init": {"Linear": {"weight": init}}}


INIT_RANGE = "spec.py _validate_init_arg accepts any finite Python number, then "
BUILD = INIT_RANGE + "build_model -> initializers.py:191 apply_init -> torch "
CODE = INIT_RANGE + "generate_code -> codegen.py:123 literal() raises "
MINIMAL = [  # the campaign's failures, cut down by hand to one field each
    (
        _conv_init({"scheme": "constant", "val": 1e308}),
        BUILD + "constant_: RuntimeError: value cannot be converted to type float without overflow",
    ),
    (
        _linear_init({"scheme": "uniform", "a": -1e308, "b": 1e308}),
        BUILD + "uniform_: RuntimeError: from is out of bounds for float",
    ),
    (
        _linear_init({"scheme": "trunc_normal", "a": 100, "b": 101, "std": 1e-300}),
        BUILD + "trunc_normal_: OverflowError: (34, 'Numerical result out of range')",
    ),
    (
        _conv_init({"scheme": "normal", "std": 10**400}),
        CODE
        + "OverflowError: int too large to convert to float (f'{value:.3g}' in its own error message)",
    ),
    (
        _conv_init({"scheme": "kaiming_normal", "a": 10**400}),
        CODE + "OverflowError: int too large to convert to float",
    ),
    (
        _conv_init({"scheme": "xavier_normal", "gain": 10**400}),
        CODE + "OverflowError: int too large to convert to float",
    ),
    (
        _conv_init({"scheme": "constant", "val": 2**1024}),
        CODE + "OverflowError: int too large to convert to float",
    ),
    (
        _conv_init({"scheme": "dirac", "groups": 3}),
        "spec.py validate_init does not check that dirac's groups divides out_channels; build_model -> apply_init -> torch dirac_: ValueError: dim 0 must be divisible by groups",
    ),
]


@pytest.mark.parametrize(
    "data", [d for d, _ in MINIMAL], ids=[json.dumps(d["init"])[:70] for d, _ in MINIMAL]
)
def test_campaign_bug_minimal(data):
    """Fixed in spec.py: initializer values bounded, trunc_normal's window, dirac's groups."""
    check_spec_input(data)


@pytest.mark.parametrize("case", _regression_cases())
def test_regression(case):
    CHECKS[case["property"]](case)
