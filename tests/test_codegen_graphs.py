"""generate_code for graphs (SPEC.md "Graphs"): merges as expressions, variables only for reused
values, and the same model as ``build_model``.

The oracle is ``build_model`` (itself checked against hand-written torch in test_graphs.py): the
exported class, built after ``torch.manual_seed(seed)``, must give its ``state_dict`` key for key
and tensor for tensor, and the same outputs. The export is run here (a test may exec the code it
generated from a spec it wrote itself), and ``ruff`` checks it with the project's settings.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder import analyze, build_model
from builder.codegen import generate_code
from builder.codegen_forward import Op, forward_body
from builder.spec import load_spec
from tests.test_graphs import INCEPTION, TINY_RES, UNET, _random_graph

ROOT = Path(__file__).resolve().parents[1]
NAMED = {"resnet": TINY_RES, "inception": INCEPTION, "unet": UNET}


def _ruff(*args: str | Path) -> subprocess.CompletedProcess:
    command = ["ruff", *map(str, args), "--no-cache", "--config", str(ROOT / "pyproject.toml")]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def assert_ruff_clean(directory: Path, formatted: bool = True) -> None:
    check = _ruff("check", directory)
    assert check.returncode == 0, check.stdout[-3000:]
    if formatted:
        result = _ruff("format", "--check", "--diff", directory)
        assert result.returncode == 0, result.stdout[-3000:]


def rebuilds(design: dict[str, Any], source: str) -> None:
    """The export gives ``build_model``'s state_dict and outputs."""
    spec = load_spec(design)
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec(compile(source, "exported.py", "exec"), namespace)  # our own generated code
    model = build_model(spec)
    torch.manual_seed(spec.seed)
    net = namespace[spec.class_name]()
    expected, actual = model.state_dict(), net.state_dict()
    assert list(actual) == list(expected)
    for key, tensor in expected.items():
        assert torch.equal(actual[key], tensor), key
    model.eval()
    net.eval()
    x = torch.randn(2, *spec.input_shape, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        assert torch.equal(net(x.clone()), model(x.clone()))


def _forward(source: str) -> ast.FunctionDef:
    tree = ast.parse(source)
    return next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "forward")


def assert_variables_only_for_reused_values(source: str) -> None:
    """Every variable of ``forward`` but ``x`` holds a value read twice: a layer's output read
    twice through it, or the input (``identity = x``) read through ``x`` and through it."""
    forward = _forward(source)
    assigned: dict[str, ast.expr] = {}
    for node in forward.body:
        if isinstance(node, ast.Assign):
            (target,) = node.targets
            assert isinstance(target, ast.Name)
            assert target.id not in assigned or target.id == "x", target.id  # assigned once
            assigned[target.id] = node.value
    reads: dict[str, int] = {}
    for node in ast.walk(forward):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            reads[node.id] = reads.get(node.id, 0) + 1
    for name, value in assigned.items():
        if name == "x":
            continue
        copies_x = isinstance(value, ast.Name) and value.id == "x"
        assert reads.get(name, 0) >= (1 if copies_x else 2), (name, source)


def assert_merges_are_expressions(design: dict[str, Any], source: str) -> None:
    spec = load_spec(design)
    merges = [layer for layer in spec.layers if layer.entry.merge]
    for layer in merges:
        assert f"self.{layer.name}" not in source
    assert "self.add" not in source and "self.cat" not in source
    assert "nn.Add" not in source and "nn.Concat" not in source
    if any(layer.type == "Concat" for layer in merges):
        assert "torch.cat((" in source or "torch.cat(\n" in source
    if any(layer.type == "Add" for layer in merges):
        assert " + " in source or "\n            + " in source


@pytest.mark.parametrize("name", list(NAMED))
def test_named_graphs_rebuild_the_model(name: str, tmp_path: Path) -> None:
    design = NAMED[name]
    source = generate_code(design)
    assert analyze(design).is_graph
    rebuilds(design, source)
    assert_merges_are_expressions(design, source)
    assert_variables_only_for_reused_values(source)
    (tmp_path / f"{name}.py").write_text(source)
    assert_ruff_clean(tmp_path)


def test_tiny_res_reads_like_basic_block() -> None:
    lines = [line.strip() for line in _forward_text(generate_code(TINY_RES))]
    assert lines[0] == "identity = x"
    assert "x = x + identity  # (16, 32, 32)" in lines
    assert "x = torch.cat((x, self.branch(x)), dim=1)  # (24, 32, 32)" in lines
    assert lines[-1] == "return x"
    # one statement per layer but the inlined branch, one for the saved input, the return
    assert len(lines) == len(TINY_RES["layers"]) - 1 + 2


def _forward_text(source: str) -> list[str]:
    body = source.split("def forward")[1].split("def initialize_weights")[0].splitlines()[1:]
    return [line for line in body if line.strip()]


def test_unet_names_the_skip_after_its_layer() -> None:
    text = "\n".join(_forward_text(generate_code(UNET)))
    assert "enc_act = self.enc_act(x)" in text
    assert "x = self.pool1(enc_act)" in text
    assert "torch.cat((enc_act, x), dim=1)" in text
    assert "identity" not in text  # the input is read once


def test_functional_activations_in_a_graph(tmp_path: Path) -> None:
    source = generate_code(TINY_RES, functional_activations=True)
    assert "F.relu(x)" in source and "self.relu" not in source
    rebuilds(TINY_RES, source)
    (tmp_path / "functional.py").write_text(source)
    assert_ruff_clean(tmp_path)


def test_sums_of_three_nested_and_long_names(tmp_path: Path) -> None:
    long = "a_rather_long_layer_name_that_keeps_going_on_and_on_for_a_while"
    design = {
        "input_shape": [4, 6, 6],
        "seed": 2,
        "layers": [
            {"type": "Conv2d", "name": long, "out_channels": 4, "kernel_size": 1},
            {
                "type": "Conv2d",
                "name": long[:-1],
                "inputs": ["input"],
                "out_channels": 4,
                "kernel_size": 3,
                "padding": 1,
            },
            {"type": "Add", "name": "s1", "inputs": [long, long[:-1]]},
            {
                "type": "Conv2d",
                "name": long[:-2],
                "inputs": ["input"],
                "out_channels": 4,
                "kernel_size": 1,
            },
            {"type": "Add", "name": "s2", "inputs": ["input", long[:-2], "s1"]},
            {"type": "Concat", "inputs": ["s2", "input", "s1"], "dim": -3},
            {"type": "BatchNorm2d", "name": "x"},  # names that would clash with the code's own
            {"type": "Conv2d", "name": "torch", "out_channels": 12, "kernel_size": 1},
            {"type": "ReLU", "name": "identity", "inputs": ["x"]},
            {"type": "Add", "name": "inner", "inputs": ["identity", "x"]},
            {"type": "Add", "inputs": ["torch", "inner", "x"]},
        ],
    }
    assert analyze(design).ok, analyze(design).error
    source = generate_code(design)
    rebuilds(design, source)
    assert_variables_only_for_reused_values(source)
    assert "dim=-3" in source
    (tmp_path / "long.py").write_text(source)
    assert_ruff_clean(tmp_path, formatted=False)


def test_order_sensitive_graph_keeps_the_spec_order() -> None:
    """Two dropouts, the first left waiting for its reader while the second (read twice) is
    assigned: inlined, they would draw their random numbers in swapped order. In training the
    export must still give build_model's output for the same seed."""
    design = {
        "input_shape": [3, 6, 6],
        "seed": 4,
        "layers": [
            {"type": "Conv2d", "name": "a", "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "Dropout", "name": "d", "p": 0.5},
            {"type": "Dropout", "name": "w", "inputs": ["a"], "p": 0.5},
            {"type": "Add", "name": "s", "inputs": ["d", "w"]},
            {"type": "Add", "inputs": ["s", "w"]},
        ],
    }
    source = generate_code(design)
    rebuilds(design, source)
    assert "d = self.d(a)" in source  # one statement per layer, in the spec's order
    spec = load_spec(design)
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec(compile(source, "exported.py", "exec"), namespace)
    model = build_model(spec)
    torch.manual_seed(spec.seed)
    net = namespace[spec.class_name]()
    x = torch.randn(3, *spec.input_shape)
    torch.manual_seed(0)
    expected = model(x)
    torch.manual_seed(0)
    assert torch.equal(net(x), expected)


def test_forward_body_wraps_a_long_sum_in_parentheses(tmp_path: Path) -> None:
    names = [letter * 60 for letter in "abc"]
    ops = [Op(name, ("input",), "call", f"self.{name}") for name in names]
    ops.append(Op("s", tuple(names), "add", comment="# (3)"))
    lines = forward_body(ops, "        ")
    stripped = [line.strip() for line in lines]
    assert stripped == [
        "# (3)",
        "x = (",
        f"self.{names[0]}(x)",
        f"+ self.{names[1]}(x)",
        f"+ self.{names[2]}(x)",
        ")",
        "return x",
    ]
    source = "class Net:\n    def forward(self, x):\n" + "\n".join(lines) + "\n"
    ast.parse(source)
    (tmp_path / "sum.py").write_text(source)
    assert_ruff_clean(tmp_path)


def _long_names(design: dict[str, Any], width: int) -> dict[str, Any]:
    """The same graph with every layer named at least ``width`` characters (up to the limit of
    64), so the export's statements must wrap."""
    spec = load_spec(design)
    rename = {"input": "input"}
    for layer in spec.layers:
        rename[layer.name] = (layer.name + "_" + "z" * 64)[: max(width, len(layer.name))]
    out = spec.to_dict()
    for layer, original in zip(out["layers"], spec.layers):
        layer["name"] = rename[original.name]
        if "inputs" in layer:
            layer["inputs"] = [rename[name] for name in layer["inputs"]]
    return out


def test_random_graphs_rebuild_the_model(tmp_path: Path) -> None:
    counts = {"exported": 0}

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data(), st.sampled_from([0, 0, 30, 50, 64]), st.booleans())
    def check(data: st.DataObject, width: int, functional: bool) -> None:
        design = _random_graph(data)
        if not analyze(design).ok:
            return  # a pool on a 1×1 map: test_graphs.py checks torch agrees
        design = _long_names(design, width)
        source = generate_code(design, functional_activations=functional)
        rebuilds(design, source)
        assert_merges_are_expressions(design, source)
        assert_variables_only_for_reused_values(source)
        counts["exported"] += 1
        (tmp_path / f"random_{counts['exported']}.py").write_text(source)

    check()
    assert counts["exported"] >= 10, counts
    assert_ruff_clean(tmp_path)


def test_two_merges_reading_a_value_kept_in_x() -> None:
    """``conv1`` stays in ``x`` for its two readers; the first concatenation, read much later,
    waits inline and reads ``x``: the second must not overwrite ``x`` before it runs (a bug the
    random graphs found)."""
    design = {
        "input_shape": [3, 8, 8],
        "seed": 1,
        "layers": [
            {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "Concat", "name": "cat1", "inputs": ["conv1", "input"]},
            {"type": "Concat", "name": "cat2", "inputs": ["conv1", "input"]},
            {"type": "AdaptiveAvgPool2d", "name": "pool1", "inputs": ["cat1"], "output_size": 1},
            {"type": "Flatten", "name": "flatten1"},
            {"type": "AdaptiveAvgPool2d", "name": "pool2", "inputs": ["cat2"], "output_size": 1},
            {"type": "Flatten", "name": "flatten2"},
            {"type": "Concat", "inputs": ["flatten1", "flatten2"]},
        ],
    }
    source = generate_code(design)
    rebuilds(design, source)
    assert_variables_only_for_reused_values(source)


def test_round_trip_through_the_importer() -> None:
    from builder.importer import spec_from_code

    for design in NAMED.values():
        source = generate_code(design)
        back = spec_from_code(source, design["input_shape"]).to_dict()
        back["seed"] = design["seed"]
        assert generate_code(back) == source


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.booleans())
def test_random_graphs_round_trip_through_the_importer(
    data: st.DataObject, functional: bool
) -> None:
    """The importer may order a merge elsewhere than the spec did (it follows ``forward``), so
    the round trip is checked on the model: the imported spec builds the exported net."""
    from builder.importer import spec_from_code

    design = _random_graph(data)
    if not analyze(design).ok:
        return
    source = generate_code(design, functional_activations=functional)
    back = spec_from_code(source, design["input_shape"]).to_dict()
    back["seed"] = design["seed"]
    rebuilds(back, source)
