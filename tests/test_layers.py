"""The generic harness: every case of the shared table against torch itself."""

from __future__ import annotations

import math

import pytest
import torch
import torchinfo
from torch import nn

import builder
from builder.edits import apply_fix
from builder.layers import REGISTRY, REQUIRED_TYPES
from builder.model import constructor_kwargs
from tests.cases import CASES, FAILURES, case_spec, plain_in

IDS = [case[0] for case in CASES]


def _plain_layer(spec: builder.Spec, in_shape: tuple[int, ...]) -> nn.Module:
    """The same layer built with plain torch, independently of build_model (a given ``in_*``
    argument is kept as given)."""
    layer = spec.layers[0]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in layer.args.items()}
    if layer.entry.in_key and kwargs.get(layer.entry.in_key) is None:
        kwargs[layer.entry.in_key] = plain_in(layer.type, in_shape)
    return getattr(nn, layer.type)(**kwargs)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_case_matches_torch(case):
    spec = builder.load_spec(case_spec(case))
    analysis = builder.analyze(spec)
    assert analysis.ok, analysis.error
    row = analysis.layers[0]
    plain = _plain_layer(spec, spec.input_shape).eval()
    with torch.no_grad():
        out = plain(torch.randn(2, *spec.input_shape))
    # shape: a real forward pass
    assert row.output_shape == tuple(out.shape[1:])
    assert analysis.output_shape == tuple(out.shape[1:])
    # parameters and buffers: torch's own count
    assert row.params == sum(p.numel() for p in plain.parameters())
    assert analysis.total_params == row.params
    assert row.buffers == sum(b.numel() for b in plain.buffers())
    assert [(n, tuple(p.shape)) for n, p in plain.named_parameters()] == list(row.tensors)
    # build_model: same state_dict layout as the plain layer
    model = builder.build_model(spec)
    name = spec.layers[0].name
    assert [k for k in model.state_dict()] == [f"{name}.{k}" for k in plain.state_dict()]
    for key, value in plain.state_dict().items():
        assert model.state_dict()[f"{name}.{key}"].shape == value.shape
    assert type(getattr(model, name)) is type(plain)
    # mult-adds: torchinfo's own count on the plain layer (it counts the whole batch; a batch
    # of 2, since BatchNorm without running statistics needs more than one value per channel)
    summary = torchinfo.summary(
        plain, input_size=(2, *spec.input_shape), verbose=0, device="cpu", mode="eval"
    )
    assert 2 * row.mult_adds == summary.total_mult_adds


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_default_init_is_plain_torch(case):
    """A spec with only `default` gives exactly the weights of seeding + the plain constructor."""
    spec = builder.load_spec({**case_spec(case), "seed": 7})
    torch.manual_seed(7)
    plain = _plain_layer(spec, spec.input_shape)
    model = builder.build_model(spec)
    name = spec.layers[0].name
    for key, value in plain.state_dict().items():
        assert torch.equal(model.state_dict()[f"{name}.{key}"], value)


def test_table_covers_every_type_and_argument():
    types = {case[2]["type"] for case in CASES}
    assert set(REQUIRED_TYPES) <= types
    # merges join several inputs: tests/test_graphs.py covers them against hand-written torch
    assert types == {name for name, entry in REGISTRY.items() if not entry.merge}
    for type_name, entry in REGISTRY.items():
        if entry.merge:
            continue
        given = {k for case in CASES if case[2]["type"] == type_name for k in case[2]}
        for arg in entry.args:
            assert arg.name in given, f"no case sets {type_name}.{arg.name}"
    assert len(CASES) >= 40


def test_constructor_kwargs_accepted_by_torch_signature():
    import inspect

    for case in CASES:
        spec = builder.load_spec(case_spec(case))
        layer = spec.layers[0]
        params = inspect.signature(layer.entry.cls.__init__).parameters
        for key in constructor_kwargs(layer, 3):
            assert key in params


@pytest.mark.parametrize("case", FAILURES, ids=[case[0] for case in FAILURES])
def test_failure_is_the_layers_error_with_a_fix(case):
    """Each refused case: the message, a fix in words, torch's own verdict where the rule says
    torch raises, and a fix action that, applied, makes the layer fit."""
    _, shape, _, fragments, torch_fails = case
    analysis = builder.analyze(case_spec(case))
    assert not analysis.ok and analysis.error_index == 0
    row = analysis.layers[0]
    for fragment in fragments:
        assert fragment in analysis.error
    assert "Fix: " in analysis.error and row.fix
    assert row.torch_fails is torch_fails
    if torch_fails:
        spec = builder.load_spec(case_spec(case))
        with pytest.raises((RuntimeError, ValueError, IndexError)):
            plain = _plain_layer(spec, spec.input_shape).eval()
            with torch.no_grad():
                plain(torch.randn(2, *shape))
    if row.fix_action is not None:
        fixed = apply_fix(case_spec(case), row.fix_action)
        assert builder.analyze(fixed).ok, (row.fix_action, builder.analyze(fixed).error)


def test_mult_adds_rule():
    spec = builder.load_spec(case_spec(CASES[0]))
    row = builder.analyze(spec).layers[0]
    assert row.mult_adds == row.params * math.prod(row.output_shape[1:])
