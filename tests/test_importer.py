"""spec_from_code: PyTorch source -> spec, read with ``ast`` and never run.

The round trip ``spec_from_code(generate_code(spec))`` gives back the same layers (type, name,
arguments), analysis shapes, init plan and frozen layers for every row of the shared layer table,
for random specs, the golden files and the presets. The article's own ``Net`` text imports to its
62,006-parameter design with its init recipe, and builds the same weights as the article's class
run by torch. Unreadable code is refused line by line, and hostile code is never executed.
"""

from __future__ import annotations

import copy
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

from builder.analysis import analyze
from builder.codegen import generate_code
from builder.errors import SpecError
from builder.importer import spec_from_code
from builder.layers import REGISTRY
from builder.limits import MAX_CODE_CHARS
from builder.model import build_model
from builder.presets import ARTICLE_INIT, PRESET_NAMES, preset
from builder.spec import load_spec
from tests.cases import CASES, case_spec
from tests.strategies import INIT_CHOICES, specs
from tests.test_codegen import GOLDEN_DESIGNS

FIXTURES = Path(__file__).with_name("fixtures")
GOLDEN = Path(__file__).with_name("golden")
ARTICLE = (FIXTURES / "article_net.txt").read_text(encoding="utf-8")
pytestmark = pytest.mark.filterwarnings("ignore:Implicit dimension choice")


# --- the comparison -----------------------------------------------------------------------------


def _design(spec: Any, names: bool = True) -> list[dict[str, Any]]:
    """What a design is, layer by layer, in the form the export can carry.

    Arguments at torch's default and inferred ``in_*`` arguments equal to what the analysis infers
    are left out (the export writes neither distinctly); ``trainable`` counts only for a layer
    with weights.
    """
    spec = load_spec(spec)
    analysis = analyze(spec)
    out = []
    for layer, row in zip(spec.layers, analysis.layers):
        entry = layer.entry
        args = {}
        for key, value in layer.args.items():
            default = entry.arg(key).default
            if key == entry.in_key and row.input_shape and value == row.input_shape[0]:
                continue
            if key != entry.in_key and _is_default(value, default):
                continue
            args[key] = value
        item = {"type": layer.type, "args": args, "shape": row.output_shape, "params": row.params}
        if names:
            item["name"] = layer.name
        if row.tensors:
            item["trainable"] = layer.trainable
        out.append(item)
    return out


def _is_default(value: Any, default: Any) -> bool:
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    return value == default and type(value) in (type(default), int, float)


def _plan(spec: Any) -> list[dict[str, Any]]:
    """The init each tensor of each layer gets (layer > type > default)."""
    spec = load_spec(spec)
    analysis = analyze(spec)
    return [
        {t: spec.init_for(i, t) for t, _ in row.tensors} for i, row in enumerate(analysis.layers)
    ]


def check_round_trip(
    spec: Any, functional: bool = False, build: bool = True, exact: bool = False
) -> Any:
    """``spec_from_code(generate_code(spec))`` is the same design with the same init plan.

    With ``exact``, for a spec that writes no default-valued or inferred argument, the layers
    are ``load_spec(spec).to_dict()["layers"]`` to the letter.
    """
    original = load_spec(spec)
    source = generate_code(original, functional_activations=functional)
    imported = spec_from_code(source, original.input_shape)
    if exact:
        assert imported.to_dict()["layers"] == original.to_dict()["layers"]
    assert _design(imported, names=False) == _design(original, names=False)
    exported = [
        (layer.name, layer.type)
        for layer in original.layers
        if not (functional and layer.entry.functional) and not layer.entry.merge
    ]  # a merge is written as an expression (x + y, torch.cat): its name is not in the code
    named = [(layer.name, layer.type) for layer in imported.layers if layer.explicit_name]
    assert named == exported  # names the export writes come back exactly
    if not functional:
        assert _design(imported) == _design(original)
        assert [layer.name for layer in imported.layers] == [
            layer.name for layer in original.layers
        ]
    assert _plan(imported) == _plan(original)
    assert imported.seed == original.seed
    assert imported.class_name == original.class_name
    # the normal form: inferred in_* left out, a design load_spec gives back unchanged
    assert load_spec(imported.to_dict()).to_dict() == imported.to_dict()
    if build:
        expected = build_model(original).state_dict()
        got = build_model(imported).state_dict()
        assert list(got) == list(expected)
        for key in expected:
            assert torch.equal(got[key], expected[key]), key
    return imported


# --- (1) every row of the shared layer table ----------------------------------------------------

_KAIMING = {"scheme": "kaiming_uniform", "nonlinearity": "relu", "mode": "fan_out"}
_BY_RANK = {1: {"scheme": "uniform", "a": 0.5, "b": 1.5}, 2: {"scheme": "orthogonal", "gain": 0.5}}


def _override(layer_type: str, present: set[str] | None = None) -> dict[str, Any]:
    """A layer's own init, unlike the article's, for each tensor its type can have: chosen by the
    tensor's rank in the registry (``tensor_ndim``), so every type with weights has one."""
    return {
        tensor: {"scheme": "default"} if tensor == "bias" else _BY_RANK.get(ndim, _KAIMING)
        for tensor, ndim in REGISTRY[layer_type].tensor_ndim
        if present is None or tensor in present
    }


def _case_variants(case: tuple) -> list[tuple[dict[str, Any], bool]]:
    """Defaults with modules; the article's init with functional activations; an override."""
    plain = case_spec(case)
    article = case_spec(case)
    article["init"] = copy.deepcopy(ARTICLE_INIT)
    article["init"]["BatchNorm1d"] = {"weight": {"scheme": "ones"}, "bias": {"scheme": "zeros"}}
    article["seed"] = 7
    variants = [(plain, False), (article, True)]
    layer = case[2]
    present = {name for name, _ in analyze(plain).layers[0].tensors}
    if present:
        own = copy.deepcopy(article)
        own["layers"][0]["init"] = _override(layer["type"], present)
        own["layers"][0]["trainable"] = False
        own["layers"][0]["name"] = "mine"
        variants.append((own, False))
    return variants


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_every_case_round_trips(case):
    for spec, functional in _case_variants(case):
        check_round_trip(spec, functional)


def test_the_case_table_covers_every_layer_type():
    # a merge takes two inputs: it is no one-layer case (tests/test_importer_graphs.py has them)
    merges = {name for name, entry in REGISTRY.items() if entry.merge}
    assert merges == {"Add", "Concat"}
    assert {c[2]["type"] for c in CASES} == set(REGISTRY) - merges


# --- (2) random specs, golden files, presets ----------------------------------------------------


@st.composite
def _designs(draw: st.DrawFn) -> dict[str, Any]:
    """A random spec with, now and then, per-layer overrides, frozen layers and own names."""
    spec = draw(specs())
    for number, layer in enumerate(spec["layers"]):
        if layer["type"] in INIT_CHOICES and draw(st.integers(0, 3)) == 0:
            tensors = INIT_CHOICES[layer["type"]]
            tensor = draw(st.sampled_from(sorted(tensors)))
            layer["init"] = {
                tensor: draw(st.sampled_from([{"scheme": "default"}, *tensors[tensor]]))
            }
        if draw(st.integers(0, 5)) == 0:
            layer["trainable"] = False
        if draw(st.integers(0, 4)) == 0:
            layer["name"] = f"layer_{number}"
    return spec


def test_random_specs_round_trip():
    counts = {"checked": 0}

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_designs(), st.booleans())
    def check(data, functional):
        try:
            spec = load_spec(data)
        except SpecError:  # an override for a tensor the layer lacks
            assume(False)
        assume(analyze(spec).ok)
        check_round_trip(spec, functional)
        counts["checked"] += 1

    check()
    assert counts["checked"] >= 20, counts


@pytest.mark.parametrize("name", list(GOLDEN_DESIGNS))
def test_golden_files_import_to_their_designs(name):
    spec, options = GOLDEN_DESIGNS[name]
    functional = options.get("functional_activations", False)
    source = (GOLDEN / f"{name}.py").read_text(encoding="utf-8")
    assert source == generate_code(spec, **options)
    check_round_trip(spec, functional, exact=True)


def _plans(spec: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    """The preset with the article's init, with none, and with overrides on two layers.

    With overrides, the layers' own ``init`` may come back in another (equivalent) form: a type
    rule no layer follows is not in the export, so its layer's override spells it out.
    """
    none = copy.deepcopy(spec)
    none["init"] = {}
    own = copy.deepcopy(spec)
    own["init"]["Conv2d"] = {"weight": {"scheme": "kaiming_normal", "nonlinearity": "relu"}}
    rows = analyze(spec).layers
    with_weights = [i for i, row in enumerate(rows) if row.tensors]
    if with_weights:
        first, last = with_weights[0], with_weights[-1]
        present = {name for name, _ in rows[first].tensors}
        own["layers"][first]["init"] = _override(own["layers"][first]["type"], present)
        own["layers"][last]["init"] = {"bias": {"scheme": "constant", "val": 0.1}}
        own["layers"][last]["trainable"] = False
    return [(spec, True), (none, True), (own, False)]


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_presets_round_trip_with_several_init_plans(name):
    for spec, exact in _plans(preset(name)):
        small = analyze(spec).total_params < 2_000_000
        for functional in (False, True):
            check_round_trip(spec, functional, build=small and not functional, exact=exact)


# --- (3) the article's Net ----------------------------------------------------------------------


class ArticleNet(nn.Module):
    """The article's class, written independently as plain torch (this one is run)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool1(F.relu(self.conv1(x)))
        x = self.pool2(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)

    def initialize_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_normal_(m.weight.data)
                if m.bias is not None:
                    m.bias.data.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight.data, 0, 0.01)
                m.bias.data.zero_()


def test_the_article_net_imports_as_the_article_describes_it():
    assert "super(Net, self).__init__()" in ARTICLE
    assert "x = x.view(-1, 16 * 5 * 5)" in ARTICLE
    assert "# m.weight.data.normal_(0,0.01)" in ARTICLE
    spec = spec_from_code(ARTICLE, (3, 32, 32))
    analysis = analyze(spec)
    assert analysis.ok and analysis.total_params == 62_006
    types = [layer.type for layer in spec.layers]
    assert types.count("ReLU") == 4 and types.count("Flatten") == 1
    assert [layer.name for layer in spec.layers] == [
        "conv1", "relu1", "pool1", "conv2", "relu2", "pool2",
        "flatten1", "fc1", "relu3", "fc2", "relu4", "fc3",
    ]  # fmt: skip
    assert spec.name == "Net" and spec.seed == 0
    assert spec.init == ARTICLE_INIT
    assert all(not layer.init and layer.trainable for layer in spec.layers)
    assert spec.layers[0].args == {"out_channels": 6, "kernel_size": 5}
    assert spec.layers[2].args == {"kernel_size": 2, "stride": 2}
    assert spec.layers[7].args == {"out_features": 120}  # 16 * 5 * 5 is what analysis infers

    torch.manual_seed(0)
    net = ArticleNet()
    net.initialize_weights()
    assert analysis.total_params == sum(p.numel() for p in net.parameters())
    built = build_model(spec)
    expected, got = net.state_dict(), built.state_dict()
    assert list(got) == list(expected)
    for key in expected:
        assert torch.equal(got[key], expected[key]), key
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(built.eval()(x), net.eval()(x))


def test_the_article_alternatives_read_the_same():
    article = spec_from_code(ARTICLE, [3, 32, 32])
    commented = "torch.nn.init.normal_(m.weight.data, 0, 0.01)"
    alternative = ARTICLE.replace(commented, "m.weight.data.normal_(0, 0.01)")
    assert spec_from_code(alternative, [3, 32, 32]) == article
    modern = ARTICLE.replace("super(Net, self).__init__()", "super().__init__()")
    modern = modern.replace("x.view(-1, 16 * 5 * 5)", "torch.flatten(x, 1)")
    modern = modern.replace("net.initialize_weights()", "").replace(".data", "")
    assert spec_from_code(modern, [3, 32, 32]) == article
    kaiming = ARTICLE.replace(
        "torch.nn.init.xavier_normal_(m.weight.data)",
        "nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')",
    )
    assert spec_from_code(kaiming, [3, 32, 32]).init["Conv2d"]["weight"] == {
        "scheme": "kaiming_normal",
        "mode": "fan_out",
        "nonlinearity": "relu",
    }


def test_the_article_net_with_another_name_and_input():
    spec = spec_from_code(ARTICLE, [3, 32, 32], name="article LeNet")
    assert spec.name == "article LeNet" and spec.class_name == "ArticleLeNet"
    assert "line 20: x.view(-1, 16 * 5 * 5) makes 400 features per sample, but its input" in str(
        _error(ARTICLE, [3, 36, 36])
    )


# --- more forms it reads --------------------------------------------------------------------------

READABLE = '''
"""A docstring."""
from torch import nn
import torch.nn.functional as fn
from torch.nn import init
import math

WIDTH = 8


class Small(nn.Module):
    """A class docstring."""

    def __init__(self, classes=10, *, hidden=2 * WIDTH):
        super().__init__()
        n = hidden * 2
        self.scale = 3
        self.conv = torch.nn.Conv2d(in_channels=1, out_channels=WIDTH, kernel_size=(3, 3), bias=False)
        self.bn = nn.BatchNorm2d(WIDTH, 1e-3, None, True, True, None, None, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.fc: nn.Linear = nn.Linear(WIDTH * 2 * 2, n)
        self.out = nn.Linear(n, classes)
        for p in self.bn.parameters():
            p.requires_grad = False
        nn.init.kaiming_uniform_(self.conv.weight, a=math.sqrt(5))
        self.apply(self._init)
        self.reset()

    def forward(self, inputs):
        """Docstring."""
        h = self.act(self.bn(self.conv(inputs)))
        h = fn.max_pool2d(h, (2, 2), ceil_mode=True)
        h = fn.adaptive_avg_pool2d(h, 2)
        h = torch.flatten(h, 1)
        h = self.act(fn.dropout(self.fc(h), 0.25, training=self.training))
        h = self.out(h).log_softmax(dim=1)
        return h

    def _init(self, module):
        if type(module) == nn.Linear and hasattr(module, "bias"):
            init.uniform_(module.bias, -0.1, b=0.1)

    def reset(self):
        with torch.no_grad():
            self.out.weight.data.uniform_(-0.5, 0.5)
        for name, m in self.named_modules():
            if m is self.fc:
                init.xavier_uniform_(m.weight, gain=init.calculate_gain("leaky_relu", 0.2))
            elif not isinstance(m, nn.BatchNorm2d):
                pass
            elif m.weight is not None:
                m.weight.data.fill_(0.5)


torch.manual_seed(3)
model = Small()
model.eval()
print(model(torch.randn(2, 1, 12, 12)).shape)
for layer in model.children():
    print(layer)
'''.replace("import math", "import math\nimport torch")


def test_reads_keywords_positionals_constants_functionals_and_init_forms():
    spec = spec_from_code(READABLE, [1, 12, 12])
    layers = spec.to_dict()["layers"]
    assert layers == [
        {"type": "Conv2d", "name": "conv", "out_channels": 8, "kernel_size": [3, 3], "bias": False,
         "init": {"weight": {"scheme": "kaiming_uniform", "a": 5**0.5}}},
        {"type": "BatchNorm2d", "name": "bn", "eps": 1e-3, "momentum": None, "bias": False,
         "trainable": False},
        {"type": "ReLU", "name": "act", "inplace": True},
        {"type": "MaxPool2d", "name": "pool1", "kernel_size": [2, 2], "ceil_mode": True},
        {"type": "AdaptiveAvgPool2d", "name": "pool2", "output_size": 2},
        {"type": "Flatten", "name": "flatten1"},
        {"type": "Linear", "name": "fc", "out_features": 32,
         "init": {"weight": {"scheme": "xavier_uniform", "gain": nn.init.calculate_gain("leaky_relu", 0.2)}}},
        {"type": "Dropout", "name": "drop1", "p": 0.25},
        {"type": "ReLU", "name": "relu2", "inplace": True},  # act again: a layer of its own
        {"type": "Linear", "name": "out", "out_features": 10,
         "init": {"weight": {"scheme": "uniform", "a": -0.5, "b": 0.5}}},
        {"type": "LogSoftmax", "name": "logsoftmax1", "dim": 1},
    ]  # fmt: skip
    assert spec.init == {  # BatchNorm2d: the third arm; the rule is the type's, bn has no own
        "BatchNorm2d": {"weight": {"scheme": "constant", "val": 0.5}},
        "Linear": {"bias": {"scheme": "uniform", "a": -0.1, "b": 0.1}},
    }
    assert spec.seed == 3 and spec.name == "Small"
    assert analyze(spec).ok


def test_imports_may_be_left_out_and_init_may_follow_construction():
    source = textwrap.dedent(
        """
        class Net(nn.Module):
            def __init__(self):
                nn.Module.__init__(self)
                self.fc1 = nn.Linear(4, 3)
                nn.init.zeros_(self.fc1.bias)
                self.fc2 = nn.Linear(3, 2)
                self.fc2.requires_grad_(False)
                self.initialize_weights()

            def forward(self, x):
                return torch.sigmoid(self.fc2(torch.tanh(self.fc1(x))))

            def initialize_weights(self):
                for m in self.modules():
                    if isinstance(m, (nn.Linear, nn.Conv2d)):
                        nn.init.eye_(m.weight)
        """
    )
    spec = spec_from_code(source, [4])
    assert [(layer.type, layer.name) for layer in spec.layers] == [
        ("Linear", "fc1"), ("Tanh", "tanh1"), ("Linear", "fc2"), ("Sigmoid", "sigmoid1"),
    ]  # fmt: skip
    # the loop runs after the direct call: fc1's bias keeps zeros (the loop leaves biases)
    assert spec.init == {"Linear": {"weight": {"scheme": "eye"}}}
    assert spec.layers[0].init == {"bias": {"scheme": "zeros"}}
    assert not spec.layers[2].trainable


def test_the_last_statement_to_touch_a_tensor_wins_as_when_run():
    source = textwrap.dedent(
        """
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(4, 3)
                self.fc2 = nn.Linear(3, 2)
                nn.init.ones_(self.fc1.weight)  # overwritten by the walk below
                self.initialize_weights()
                nn.init.ones_(self.fc2.weight)  # after the walk: stays

            def forward(self, x):
                x = self.fc1(x)
                return self.fc2(x)

            def initialize_weights(self):
                for m in self.modules():
                    if isinstance(m, nn.Linear):
                        nn.init.zeros_(m.weight)
                    if isinstance(m, nn.Linear) and m is self.fc1:
                        m.weight.data.normal_(std=0.5)
        """
    )
    spec = spec_from_code(source, [4])
    assert spec.init == {"Linear": {"weight": {"scheme": "zeros"}}}
    assert spec.layers[0].init == {"weight": {"scheme": "normal", "std": 0.5}}
    assert spec.layers[1].init == {"weight": {"scheme": "ones"}}


def test_an_explicit_in_argument_that_disagrees_is_kept_for_the_app_to_show():
    source = textwrap.dedent(
        """
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(3, 6, 5)
                self.conv2 = nn.Conv2d(5, 16, 5)
                self.bn = nn.BatchNorm2d(16)

            def forward(self, x):
                return self.bn(self.conv2(self.conv1(x)))
        """
    )
    spec = spec_from_code(source, [3, 32, 32])
    assert [layer.args.get("in_channels") for layer in spec.layers[:2]] == [None, 5]
    assert spec.layers[2].args == {"num_features": 16}  # after the error: unknown, kept
    analysis = analyze(spec)
    assert analysis.error_index == 1 and "in_channels is 5" in analysis.error


def test_layers_follow_forward_not_init():
    source = textwrap.dedent(
        """
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.head = nn.Linear(12, 2)
                self.flat = nn.Flatten()
                self.conv = nn.Conv2d(1, 3, 3)

            def forward(self, x):
                x = self.conv(x)
                x = self.flat(x)
                x = self.head(x)
                return x
        """
    )
    spec = spec_from_code(source, [1, 4, 4])
    assert [layer.name for layer in spec.layers] == ["conv", "flat", "head"]
    assert analyze(spec).output_shape == (2,)


def _torch_parameters(function: Any) -> list[str]:
    """The positional parameters after the first, as torch declares them: the signature, or for a
    builtin or a dispatcher the one its docstring opens with."""
    import inspect

    try:
        signature = inspect.signature(function).parameters.values()
        params = [p.name for p in signature if p.kind <= p.POSITIONAL_OR_KEYWORD]
    except ValueError:
        params = []
    if not params:
        line = next(t for t in function.__doc__.splitlines() if t.strip())
        head = line.split("(", 1)[1].split(")")[0].split("*")[0]
        params = [p.split("=")[0].strip() for p in head.split(",") if p.strip()]
    return params[1:]


def test_the_reader_tables_follow_torch_signatures():
    """Every functional spelling the registry names is read, its positional arguments in torch's
    order, each one an argument of the layer (or at torch's default, or ``self.training``)."""
    from builder.importer.vocabulary import CONSTRUCTORS, FUNCTIONS

    spelled = {
        f"torch.nn.functional.{name}"
        for entry in REGISTRY.values()
        for name in (*([entry.functional] if entry.functional else []), *entry.functional_aliases)
    }
    assert spelled <= set(FUNCTIONS), spelled - set(FUNCTIONS)
    for dotted, signature in FUNCTIONS.items():
        module, name = dotted.rsplit(".", 1)
        function = {"torch": torch, "torch.nn.functional": F}[module].__dict__[name]
        if function.__doc__ is None:  # torch.relu, torch.log_softmax: as their F twins
            function = F.__dict__[name]
        assert _torch_parameters(function) == list(signature.order), dotted
        entry = REGISTRY[signature.layer_type]
        for param in signature.order:
            known = entry.arg(signature.renamed.get(param, param)) or param in signature.extras
            assert known or (param == "training" and signature.training), (dotted, param)
    for layer_type, signature in CONSTRUCTORS.items():
        entry = REGISTRY[layer_type]
        assert list(signature.order) == _constructor_parameters(entry.cls), layer_type
        assert all(entry.arg(p) or p in signature.extras for p in signature.order), layer_type


def _constructor_parameters(cls: type) -> list[str]:
    import inspect

    params = inspect.signature(cls).parameters.values()
    return [p.name for p in params if p.kind <= p.POSITIONAL_OR_KEYWORD]


def _functional_cases() -> list[tuple[str, str, tuple]]:
    """(spelling, function name, case) for every functional spelling of the registry and every
    row of the layer table of its type that the function can express."""
    from builder.importer.vocabulary import FUNCTIONS

    out = []
    for dotted, signature in FUNCTIONS.items():
        if not dotted.startswith("torch.nn.functional."):
            continue
        name = dotted.rsplit(".", 1)[1]
        params = set(signature.order) | set(signature.renamed) | set(signature.extras)
        named = {signature.renamed.get(p, p) for p in params}
        for case in CASES:
            args = {k for k in case[2] if k not in ("type", "name")}
            if case[2]["type"] == signature.layer_type and args <= named:
                out.append((dotted, name, case))
    return out


@pytest.mark.parametrize(
    ("dotted", "name", "case"),
    [pytest.param(*c, id=f"{c[1]}-{c[2][0]}") for c in _functional_cases()],
)
def test_every_functional_spelling_reads_as_its_layer_and_computes_as_torch(dotted, name, case):
    """``F.<spelling>(x, ...)`` in forward is its registry type with the same arguments, and the
    model built from the import computes what torch's function computes."""
    from builder.importer.vocabulary import FUNCTIONS

    signature = FUNCTIONS[dotted]
    keyword = {v: k for k, v in signature.renamed.items()}
    args = {k: v for k, v in case[2].items() if k not in ("type", "name")}
    kwargs = {keyword.get(k, k): v for k, v in args.items()}
    extra = ", training=self.training" if signature.training else ""
    written = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    source = textwrap.dedent(
        f"""
        import torch.nn.functional as F
        from torch import nn

        class Net(nn.Module):
            def forward(self, x):
                return F.{name}(x{written}{extra})

            def __init__(self):
                super().__init__()
        """
    )
    torch.manual_seed(0)
    x = torch.randn(2, *case[1])
    try:
        want = F.__dict__[name](x, **kwargs, **({"training": False} if signature.training else {}))
    except (TypeError, RuntimeError, ValueError):  # F.pad(x, 2): only the module takes an int
        pytest.skip(f"torch's {name} does not take {kwargs}")
    spec = spec_from_code(source, case[1])
    assert _design(spec, names=False) == _design(case_spec(case), names=False)
    assert torch.equal(build_model(spec).eval()(x), want)


def test_a_stateless_layer_applied_again_becomes_a_layer_of_its_own():
    source = textwrap.dedent(
        """
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(8, 8)
                self.fc2 = nn.Linear(8, 4)
                self.relu = nn.ReLU()

            def forward(self, x):
                x = self.relu(self.fc1(x))
                return self.relu(self.fc2(x))
        """
    )
    spec = spec_from_code(source, [8])
    assert [layer.name for layer in spec.layers] == ["fc1", "relu", "fc2", "relu2"]


def test_init_function_applied_from_outside_and_seed():
    source = textwrap.dedent(
        """
        import torch
        from torch import nn

        def weights_init(m):
            classname = None
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 2, 3)

            def forward(self, x):
                return self.conv(x)

        if __name__ == "__main__":
            torch.manual_seed(11)
            net = Net()
            net.apply(weights_init)
            nn.init.constant_(net.conv.bias, 0.5)
        """
    )
    error = _error(source, [1, 5, 5])
    assert str(error).splitlines() == [
        "line 6: cannot read 'classname = None': inside the loop, only tests on m (isinstance, "
        "m is self.conv1, m.bias is not None) and init calls are read"
    ]
    spec = spec_from_code(source.replace("    classname = None\n", ""), [1, 5, 5])
    assert spec.init == {"Conv2d": {"weight": {"scheme": "normal", "mean": 0.0, "std": 0.02}}}
    assert spec.layers[0].init == {"bias": {"scheme": "constant", "val": 0.5}}
    assert spec.seed == 11


# --- (4) what it cannot read, line by line ------------------------------------------------------

BASE = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(6 * 14 * 14, 10)
        INIT_EXTRA

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = x.view(-1, 6 * 14 * 14)
        FORWARD_EXTRA
        return self.fc1(x)

    def initialize_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_normal_(m.weight)
            LOOP_EXTRA


net = Net()
MODULE_EXTRA
"""


def _source(**extra: str) -> str:
    text = BASE
    for key in ("INIT_EXTRA", "FORWARD_EXTRA", "LOOP_EXTRA", "MODULE_EXTRA"):
        text = text.replace(key, extra.get(key.split("_")[0].lower(), "pass"))
    return text


def _error(source: str, shape: Any = (3, 32, 32)) -> SpecError:
    with pytest.raises(SpecError) as info:
        spec_from_code(source, shape)
    return info.value


def test_the_base_source_reads():
    spec = spec_from_code(_source(), [3, 32, 32])
    assert [layer.name for layer in spec.layers] == ["conv1", "relu1", "pool", "flatten1", "fc1"]


# fmt: off
UNREADABLE = [
    # (id, what to put in BASE, the line named, a fragment of the message)
    ("custom_block", {"init": "self.conv3 = MyBlock(3, 8)"}, 12, "cannot read 'self.conv3 = MyBlock(3, 8)': only torch.nn layers are supported"),
    ("module_dict", {"init": "self.body = nn.ModuleDict({'a': nn.ReLU()})"}, 12, "nn.ModuleDict is not read: use nn.Sequential or attributes"),
    ("unknown_type", {"init": "self.rnn = nn.LSTM(4, 4)"}, 12, "nn.LSTM is not a layer type"),
    ("not_a_constant", {"init": "self.fc2 = nn.Linear(self.width, 2)"}, 12, "only literal values and constant arithmetic are read"),
    ("bad_value", {"init": "self.conv2 = nn.Conv2d(6, 6, -1)"}, 12, "line 12 (conv2): kernel_size must be a positive integer, got -1"),
    ("bad_choice", {"init": "self.conv2 = nn.Conv2d(6, 6, 3, padding_mode='mirror')"}, 12, "line 12 (conv2): padding_mode must be one of"),
    ("unknown_keyword", {"init": "self.conv2 = nn.Conv2d(6, 6, 3, device='cpu')"}, 12, "Conv2d is read with in_channels, out_channels"),
    ("too_many_positionals", {"init": "self.fc2 = nn.Linear(1, 2, True, None, None, 5)"}, 12, "Linear takes at most 5 positional arguments"),
    ("assigned_twice", {"init": "self.conv1 = nn.Conv2d(3, 6, 3)"}, 12, "self.conv1 is assigned twice (first on line 9)"),
    ("init_before_layer", {"init": "nn.init.zeros_(self.fc9.bias)"}, 12, "self.fc9 is not a layer defined before this line"),
    ("missing_bias", {"init": "self.c = nn.Conv2d(6, 6, 1, bias=False); nn.init.zeros_(self.c.bias)"}, 12, "self.c has no bias"),
    ("frozen_tensor", {"init": "self.fc1.weight.requires_grad_(False)"}, 12, "freezing one tensor is not supported"),
    ("exec_in_init", {"init": "__import__('os').system('echo hi')"}, 12, "cannot read \"__import__('os').system('echo hi')\": __init__ and init methods are read as"),
    ("product", {"forward": "x = x * F.relu(x)"}, 17, "(a + b, torch.cat): no other arithmetic"),
    ("branch", {"forward": "if x.sum() > 0: x = F.relu(x)"}, 17, "no branches on tensors"),
    ("unknown_value", {"forward": "x = F.relu(z)"}, 17, "'z' is not a value forward has made before this line"),
    ("used_twice", {"forward": "x = self.conv1(x)"}, 17, "self.conv1 is applied a second time (first on line 15)"),
    ("undefined_layer", {"forward": "x = self.fc9(x)"}, 17, "self.fc9 is not a layer defined in __init__"),
    ("unknown_function", {"forward": "x = F.relu6(x)"}, 17, "torch.nn.functional.relu6 is not a function the reader knows"),
    ("dropout_always_on", {"forward": "x = F.dropout(x, 0.2)"}, 17, "stays active in eval mode"),
    ("flatten_batch", {"forward": "x = torch.flatten(x)"}, 17, "also flattens the batch dimension"),
    ("view_3d", {"forward": "x = x.view(-1, 2, 3)"}, 17, "a view is read to (batch, features) only"),
    ("view_fixed_batch", {"forward": "x = x.reshape(4, -1)"}, 17, "the batch size must stay free"),
    ("view_computed", {"forward": "x = x.view(-1, self.num_flat_features(x))"}, 17, "the feature count must be a constant integer"),
    ("unknown_method", {"forward": "x = x.clamp(0, 1)"}, 17, ".clamp() is not a step the reader knows"),
    ("print_in_forward", {"forward": "print(x)"}, 17, "forward is read as steps 'x = layer(x)'"),
    ("test_on_data", {"loop": "if m.weight.sum() > 0: m.weight.data.zero_()"}, 24, "the tests read are isinstance(m, nn.Conv2d)"),
    ("unknown_init", {"loop": "if isinstance(m, nn.Linear): nn.init.foo_(m.weight)"}, 24, "torch.nn.init.foo_ is not an initializer the reader knows"),
    ("generator", {"loop": "if isinstance(m, nn.Linear): nn.init.normal_(m.weight, 0, 1, None)"}, 24, "normal is not read with 'generator'"),
    ("init_outside_test", {"loop": "nn.init.zeros_(self.fc1.weight)"}, 24, "inside the loop, initialize m.weight or m.bias"),
    ("scheme_misfit", {"loop": "if isinstance(m, nn.Conv2d): nn.init.eye_(m.weight)"}, 24, "line 24: Conv2d.weight: eye fits Linear weights, not a tensor with 4 dimensions"),
    ("bad_init_value", {"loop": "if isinstance(m, nn.Linear): nn.init.normal_(m.weight, 0, -1)"}, 24, "line 24 (normal): std must be"),
    ("bad_gain", {"loop": "if isinstance(m, nn.Linear): nn.init.xavier_normal_(m.weight, gain=nn.init.calculate_gain('relux'))"}, 24, "calculate_gain needs one of linear"),
    ("module_call", {"module": "import os\nos.system('echo hi')"}, 29, "outside the class only calls of torch, print and the net are read"),
    ("module_import_call", {"module": "__import__('os').system('echo hi')"}, 28, "outside the class only calls of torch, print and the net are read"),
    ("net_with_args", {"module": "other = Net(3)"}, 28, "Net(...) is read without arguments"),
    ("module_while", {"module": "while True: pass"}, 28, "outside the class only imports"),
]
# fmt: on


@pytest.mark.parametrize(
    ("changes", "line", "fragment"),
    [pytest.param(c, n, f, id=i) for i, c, n, f in UNREADABLE],
)
def test_unreadable_code_is_named_by_line(changes, line, fragment):
    message = str(_error(_source(**changes)))
    first = message.splitlines()[0]
    assert first.startswith(f"line {line}"), message
    assert fragment in message, message


def test_view_to_the_wrong_size_is_named():
    source = _source().replace("x.view(-1, 6 * 14 * 14)", "x.view(-1, 16 * 5 * 5)")
    assert str(_error(source)) == (
        "line 16: x.view(-1, 16 * 5 * 5) makes 400 features per sample, but its input has shape "
        "(6, 14, 14): 1176 values per sample"
    )


def test_several_problems_are_reported_together_one_line_each():
    source = _source(
        init="self.conv3 = MyBlock(3, 8)",
        forward="x = x + 1",
        loop="if m.weight.sum() > 0: pass",
        module="os.system('rm -rf /')",
    )
    lines = str(_error(source)).splitlines()
    assert [line.split(":")[0] for line in lines] == ["line 12", "line 17", "line 24", "line 28"]


def test_unused_layers_and_methods_are_named():
    source = _source(init="self.extra = nn.Linear(2, 2)").replace(
        "    def initialize_weights(self):",
        "    def num_flat_features(self, x):\n        return 1\n\n    def initialize_weights(self):",
    )
    lines = str(_error(source)).splitlines()  # an unused layer is left out, with a warning
    assert lines[0].startswith("line 20: cannot read method 'num_flat_features'")


def test_structure_problems():
    assert "no network class found" in str(_error("x = 1\n"))
    assert str(_error("class Net(nn.Module):\n    def forward(self, x)\n")).startswith(
        "line 2: not valid Python"
    )
    no_forward = "class Net(nn.Module):\n    def __init__(self):\n        pass\n"
    assert str(_error(no_forward)) == "line 1: class 'Net' has no forward"
    two_inputs = _source().replace("def forward(self, x):", "def forward(self, x, y):")
    assert str(_error(two_inputs)).startswith("line 14: forward is read with one input")
    no_return = _source().replace("return self.fc1(x)", "x = self.fc1(x)")
    assert str(_error(no_return)) == "line 14: forward never returns its result"
    block = _source().replace("class Net(", "class Block(nn.Module):\n    pass\n\n\nclass Net(")
    assert spec_from_code(block, [3, 32, 32]).name == "Net"  # net = Net() says which is meant
    params = _source().replace("def __init__(self):", "def __init__(self, width):")
    assert "line 7: __init__'s parameters need default values to be read (width)" in str(
        _error(params)
    )


def test_many_problems_are_cut_short():
    source = _source(init="\n        ".join(f"self.b{i} = MyBlock()" for i in range(30)))
    lines = str(_error(source)).splitlines()
    assert len(lines) == 21 and lines[-1] == "... and 10 more problems"


def test_input_shape_and_source_are_checked_first():
    assert "input_shape must be" in str(_error(ARTICLE, [3, 32, 32, 32]))
    assert "input_shape must be" in str(_error(ARTICLE, 3))
    with pytest.raises(SpecError, match="the code must be text"):
        spec_from_code(b"class Net: pass", [3])


PATHOLOGICAL = [
    ("too_long", ARTICLE + "#" * MAX_CODE_CHARS, "the limit is 50,000"),
    ("parentheses", "x = " + "(" * 1000 + ")" * 1000, "line 1: not valid Python"),
    ("minus_signs", "x = " + "-" * 40_000 + "1", "the code cannot be read"),
    ("attributes", "x = a" + ".b" * 20_000, "the code cannot be read"),
    ("sum", "x = 1" + "+1" * 20_000, "the code cannot be read"),
    ("null_byte", "x = 1\0", "null bytes"),
    ("long_integer", "x = " + "9" * 5000, "line 1: not valid Python"),
    ("indentation", "".join("    " * i + "if x:\n" for i in range(110)), "not valid Python"),
    ("deep_call", _source(forward="x = " + "F.relu(" * 150 + "x" + ")" * 150), "too deeply"),
    ("deep_arithmetic", _source(init="self.c = nn.Conv2d(6, 6, 1" + "*1" * 5000 + ")"), "deeply"),
    (
        "big_product",
        _source(init="self.c = nn.Conv2d(6, 6, " + "*".join(["99999"] * 30) + ")"),
        "the number is too large",
    ),
    ("power", _source(init="self.c = nn.Conv2d(6, 6, 2**2**2**2**2)"), "the power is too large"),
    ("deep_test", _source(loop="if " + "not " * 200 + "isinstance(m, nn.Linear): pass"), "deeply"),
]


@pytest.mark.parametrize(
    ("source", "fragment"), [pytest.param(s, f, id=i) for i, s, f in PATHOLOGICAL]
)
def test_pathological_inputs_are_refused_cleanly(source, fragment):
    assert fragment in str(_error(source))


# --- (5) it never executes anything -------------------------------------------------------------


HOSTILE = [
    "MODULE",
    _source(module="__import__('os').system('touch MARKER')"),
    _source(init="__import__('os').system('touch MARKER')"),
    _source(init="self.x = nn.Linear(__import__('os').system('touch MARKER'), 2)"),
    _source(forward="x = __import__('os').system('touch MARKER')"),
    _source(loop="__import__('os').system('touch MARKER')"),
    _source(loop="if __import__('os').system('touch MARKER'): pass"),
    _source().replace("class Net(", "open('MARKER', 'w')\n\n\nclass Net("),
    _source().replace(
        "    def forward", "    __import__('os').system('touch MARKER')\n\n    def forward"
    ),
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_code_is_refused_and_never_run(source, tmp_path, monkeypatch):
    marker = tmp_path / "MARKER"
    if source == "MODULE":
        source = f"import os\nos.system('touch {marker}')\n" + _source()
    source = source.replace("MARKER", str(marker))
    monkeypatch.chdir(tmp_path)
    with (
        mock.patch.object(os, "system") as system,
        mock.patch.object(subprocess, "Popen") as popen,
        pytest.raises(SpecError),
    ):
        spec_from_code(source, [3, 32, 32])
    assert not system.called and not popen.called
    assert not marker.exists()


def test_allowed_usage_lines_are_read_not_run(tmp_path, monkeypatch):
    marker = tmp_path / "net.pt"
    source = _source(module=f"torch.save(net.state_dict(), {str(marker)!r})")
    monkeypatch.chdir(tmp_path)
    with mock.patch.object(torch, "save") as save:
        spec = spec_from_code(source, [3, 32, 32])
    assert not save.called and not marker.exists()
    assert analyze(spec).ok


def test_the_importer_package_has_no_way_to_run_code():
    import ast

    import builder.importer as importer

    files = sorted(Path(importer.__file__).parent.glob("*.py"))
    assert len(files) > 5
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert not names & {"eval", "exec", "compile", "__import__", "getattr", "globals"}, path
        assert not attrs & {"literal_eval", "import_module", "run_path", "system"}, path
