"""Downloads: the JSON reloads, the weights load into the exported class, the names are safe."""

from __future__ import annotations

import io
import json

import pytest
import torch

from builder.errors import SpecError
from builder.export import (
    code_bytes,
    downloads,
    file_stem,
    spec_json_bytes,
    state_dict_bytes,
)
from builder.model import build_model
from builder.presets import PRESET_NAMES, preset
from builder.spec import load_spec
from tests.test_codegen import load_exported

SMALL_PRESETS = [name for name in PRESET_NAMES if name != "AlexNet-like"]


def _frozen_vgg() -> dict:
    spec = preset("VGG block with BatchNorm")
    spec["layers"][0]["trainable"] = False
    spec["layers"][3]["init"] = {"weight": {"scheme": "orthogonal", "gain": "relu"}}
    return spec


DESIGNS = {name: preset(name) for name in SMALL_PRESETS} | {"frozen VGG": _frozen_vgg()}


@pytest.mark.parametrize("name", list(DESIGNS))
def test_spec_json_reloads_to_the_same_spec(name):
    spec = load_spec(DESIGNS[name])
    data = spec_json_bytes(spec)
    assert load_spec(data.decode("utf-8")).to_dict() == spec.to_dict()
    assert json.loads(data) == spec.to_dict()
    assert data.endswith(b"\n") and b"\n  " in data  # pretty: one key a line


@pytest.mark.parametrize("name", list(DESIGNS))
def test_weights_load_strictly_into_the_exported_class(name, tmp_path):
    spec = load_spec(DESIGNS[name])
    weights = tmp_path / "weights.pt"
    weights.write_bytes(state_dict_bytes(spec))
    state = torch.load(weights, weights_only=True)
    expected = build_model(spec).state_dict()
    assert list(state) == list(expected)
    assert all(torch.equal(state[key], tensor) for key, tensor in expected.items())

    namespace, _ = load_exported(code_bytes(spec).decode("utf-8"), tmp_path / "net.py")
    torch.manual_seed(123)  # other weights, so loading visibly replaces them
    net = namespace[spec.class_name]()
    net.load_state_dict(state, strict=True)
    model = build_model(spec).eval()
    x = torch.randn(2, *spec.input_shape, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(net.eval()(x), model(x))


def test_weights_of_a_given_model_are_saved_as_they_are():
    model = build_model(preset())
    with torch.no_grad():
        model.fc3.bias.fill_(0.25)  # e.g. after a training step in the app
    state = torch.load(io.BytesIO(state_dict_bytes(model)), weights_only=True)
    assert torch.equal(state["fc3.bias"], torch.full((10,), 0.25))
    assert not any(t.requires_grad for t in state.values())


def test_functional_code_accepts_the_same_weights(tmp_path):
    spec = preset()
    state = torch.load(io.BytesIO(state_dict_bytes(spec)), weights_only=True)
    source = code_bytes(spec, functional_activations=True).decode("utf-8")
    assert "F.relu" in source
    namespace, _ = load_exported(source, tmp_path / "lenet.py")
    namespace["LeNet"]().load_state_dict(state, strict=True)


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("LeNet", "lenet"),
        ("my net", "my_net"),
        ("3rd-try", "3rd_try"),
        ("VGG block (v2)", "vgg_block_v2"),
        ("../../etc/passwd", "etc_passwd"),
        ("сеть", "net"),
        ("a\\b:c*d?e", "a_b_c_d_e"),
        (None, "net"),
    ],
)
def test_file_stem_is_a_safe_name(name, stem):
    spec = {"input_shape": [4], "layers": []}
    if name is not None:
        spec["name"] = name
    assert file_stem(spec) == stem


def test_downloads_offer_code_design_and_weights():
    files = downloads(preset())
    assert [f.file_name for f in files] == ["lenet.py", "lenet.json", "lenet_weights.pt"]
    assert [f.mime for f in files] == [
        "text/x-python",
        "application/json",
        "application/octet-stream",
    ]
    code, design, weights = (f.data for f in files)
    assert code == code_bytes(preset())
    assert design == spec_json_bytes(preset())
    assert weights[:2] == b"PK"  # torch.save's zip format


def test_downloads_reuse_a_given_model_and_pass_code_options():
    model = build_model(preset())
    with torch.no_grad():
        model.fc1.weight.zero_()
    files = downloads(preset(), model, functional_activations=True)
    assert b"F.relu" in files[0].data
    state = torch.load(io.BytesIO(files[2].data), weights_only=True)
    assert not state["fc1.weight"].any()


def test_a_spec_whose_analysis_fails_has_no_downloads():
    bad = {"input_shape": [3, 8, 8], "layers": [{"type": "Linear", "out_features": 2}]}
    with pytest.raises(SpecError):
        downloads(bad)
    with pytest.raises(SpecError):
        state_dict_bytes(bad)


def test_training_downloads_are_the_script_and_notebook_of_the_design():
    import ast
    import json

    from builder.export import training_downloads
    from builder.presets import preset

    script, notebook = training_downloads(preset(), epochs=2, batch_size=8)
    assert script.file_name == "train_lenet.py" and notebook.file_name == "train_lenet.ipynb"
    code = script.make().decode()
    ast.parse(code)
    assert "class LeNet(nn.Module)" in code and "test accuracy" in code
    cells = json.loads(notebook.make())["cells"]
    assert any("class LeNet(nn.Module)" in "".join(c["source"]) for c in cells)
