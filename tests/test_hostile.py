"""Hostile input, against the builder and against the app (AppTest), and no cross-session leaks.

One table per entry point. Each row must give a clear message (a ``SpecError`` in the builder,
an ``st.error`` in the app), never an exception; afterwards the app still holds the design it
had (or the default) and a further normal edit works. Rows marked ``xfail(strict=True)`` are
open bugs: each reason says what goes wrong, and the mark fails the run as soon as it is fixed.
"""

from __future__ import annotations

import ast
import base64
import json
import math
import re
import zlib
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import builder
from builder import SpecError, analyze, build_model, generate_code, load_spec
from builder.assignment import encode_assignment, load_assignment
from builder.limits import MAX_LAYERS, MAX_UPLOAD_BYTES
from builder.presets import preset
from builder.share import encode_design
from ui.tabs import edit_tabs

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
LENET = preset()
MAX_MESSAGE = 600  # a clear message is short, whatever the input held


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def nested_dicts(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth):
        value = {"scheme": value}
    return value


def spec_with(**fields: Any) -> dict[str, Any]:
    return {"input_shape": [3, 8, 8], "layers": [], **fields}


def conv(**fields: Any) -> dict[str, Any]:
    return spec_with(layers=[{"type": "Conv2d", "out_channels": 2, "kernel_size": 3, **fields}])


def layer(layer_type: str, **fields: Any) -> dict[str, Any]:
    return spec_with(layers=[{"type": layer_type, **fields}])


def conv_init(init: dict[str, Any]) -> dict[str, Any]:
    return conv(init={"weight": init})


def linear_init(init: dict[str, Any]) -> dict[str, Any]:
    return {
        "input_shape": [4],
        "layers": [{"type": "Linear", "out_features": 3, "init": {"weight": init}}],
    }


INJECTIONS = [
    '"; import os; os.system("id") #',
    "__import__('os').system('id')",
    "'''\nimport os\n'''",
    '"""\nimport os\n"""',
    "\n    import os\n",
    "</script><script>alert(1)</script>",
    "![x](https://evil.example/p.png)",
    "$(rm -rf /)",
    "{{7*7}}",
    "' OR 1=1 --",
    "\x00",
    "\u202eevil",
    "a" * 10_000,
]

# the string fields of a spec, each as a function of the hostile text
STRING_FIELDS = {
    "layer name": lambda s: layer("ReLU", name=s),
    "type": lambda s: spec_with(layers=[{"type": s}]),
    "padding": lambda s: conv(padding=s),
    "padding_mode": lambda s: conv(padding_mode=s),
    "approximate": lambda s: layer("GELU", approximate=s),
    "scheme": lambda s: conv_init({"scheme": s}),
    "nonlinearity": lambda s: conv_init({"scheme": "kaiming_normal", "nonlinearity": s}),
    "mode": lambda s: conv_init({"scheme": "kaiming_normal", "mode": s}),
    "gain": lambda s: conv_init({"scheme": "xavier_normal", "gain": s}),
    "init tensor": lambda s: conv(init={s: {"scheme": "zeros"}}),
    "init type": lambda s: spec_with(init={s: {"weight": {"scheme": "zeros"}}}),
    "unknown key": lambda s: spec_with(**{s: 1}),
    "layer key": lambda s: conv(**{s: 1}),
}

OPEN = pytest.mark.xfail  # every use below is strict, with the bug in the reason


def bug(reason: str) -> Any:
    return OPEN(strict=True, reason=reason)


# fixed in builder/spec.py _show() / _hint(): kept as names so the table rows stay readable
DEEP_BUG: tuple = ()
HUGE_INT_BUG: tuple = ()

# (id, input, substring the SpecError message must hold); inputs are dicts unless str
REJECTED = [
    # oversized numbers
    ("out_channels 2**31", conv(out_channels=2**31), "out_channels"),
    ("out_channels 10**30", conv(out_channels=10**30), "out_channels"),
    pytest.param(
        "out_channels 10**5000", conv(out_channels=10**5000), "out_channels", marks=HUGE_INT_BUG
    ),
    pytest.param("seed 10**5000", spec_with(seed=10**5000), "seed", marks=HUGE_INT_BUG),
    (
        "out_channels 10**5000 as JSON text",
        '{"input_shape": [3, 8, 8], "seed": 1' + "0" * 5000 + "}",
        "JSON",
    ),
    ("seed 2**64", spec_with(seed=2**64), "seed"),
    ("seed -1", spec_with(seed=-1), "seed"),
    ("input 10**9 x 10**9", spec_with(input_shape=[3, 10**9, 10**9]), "input_shape"),
    ("input 3x4096x4096", spec_with(input_shape=[3, 4096, 4096]), "limit"),
    ("p 1e308", layer("Dropout", p=1e308), "p"),
    ("p nan", layer("Dropout", p=math.nan), "p"),
    ("p NaN in JSON", '{"input_shape": [4], "layers": [{"type": "Dropout", "p": NaN}]}', "p"),
    (
        "eps Infinity in JSON",
        '{"input_shape": [4], "layers": [{"type": "BatchNorm1d", "eps": Infinity}]}',
        "eps",
    ),
    ("negative_slope -inf", layer("LeakyReLU", negative_slope=-math.inf), "negative_slope"),
    ("kernel 2**63", conv(kernel_size=[2**63, 1]), "kernel_size"),
    ("std -1", conv_init({"scheme": "normal", "std": -1}), "std"),
    ("sparsity 1", linear_init({"scheme": "sparse", "sparsity": 1}), "sparsity"),
    ("dirac groups 2**40", conv_init({"scheme": "dirac", "groups": 2**40}), "groups"),
    ("too many layers", spec_with(layers=[{"type": "ReLU"}] * (MAX_LAYERS + 1)), "at most"),
    # deep nesting
    ("100k nested lists as JSON", "[" * 100_000 + "]" * 100_000, "JSON"),
    ("100k nested objects as JSON", '{"a":' * 100_000 + "1" + "}" * 100_000, "JSON"),
    pytest.param(
        "100k nested input_shape",
        spec_with(input_shape=nested(100_000)),
        "input_shape",
        marks=DEEP_BUG,
    ),
    pytest.param("100k nested name", spec_with(name=nested(100_000)), "name", marks=DEEP_BUG),
    pytest.param("100k nested layer arg", conv(stride=nested(100_000)), "stride", marks=DEEP_BUG),
    pytest.param(
        "100k nested layer", spec_with(layers=[nested(100_000)]), "layer 1", marks=DEEP_BUG
    ),
    pytest.param(
        "100k nested init",
        spec_with(init={"Conv2d": {"weight": nested_dicts(100_000)}}),
        "scheme",
        marks=DEEP_BUG,
    ),
    # wrong types
    ("top-level list", [1, 2, 3], "JSON object"),
    ("top-level null", None, "JSON object"),
    ("bytes holding a JSON string", b'"/etc/passwd"', "JSON object, got a string"),
    # a str is JSON text, never a path (SPEC.md): nothing is read from the server's disk
    ("a server path as text", "/dev/zero", "not valid JSON"),
    ("a server path as a JSON string", '"/dev/zero"', "JSON object, got a string"),
    ("a design file's path as text", "tests/regressions/mutated-130e9e2b4e.json", "not valid JSON"),
    ("a JSON number", "3", "JSON object, got a number"),
    ("input_shape text", spec_with(input_shape="3,32,32"), "input_shape"),
    ("input_shape object", spec_with(input_shape={"C": 3}), "input_shape"),
    ("input_shape floats", spec_with(input_shape=[3.0, 8, 8]), "input_shape"),
    ("input_shape bools", spec_with(input_shape=[True, True, True]), "input_shape"),
    ("layers object", spec_with(layers={"type": "ReLU"}), "layers"),
    ("layer list", spec_with(layers=[["Conv2d", 6, 5]]), "layer 1"),
    ("layer type number", spec_with(layers=[{"type": 5}]), "type"),
    ("layer type list", spec_with(layers=[{"type": ["Conv2d"]}]), "type"),
    ("out_channels text", conv(out_channels="16"), "out_channels"),
    ("out_channels float", conv(out_channels=16.0), "out_channels"),
    ("out_channels true", conv(out_channels=True), "out_channels"),
    ("bias text", conv(bias="yes"), "bias"),
    ("kernel triple", conv(kernel_size=[3, 3, 3]), "kernel_size"),
    ("init list", spec_with(init=[1]), "init"),
    ("layer init list", conv(init=["zeros"]), "init"),
    ("scheme number", conv_init({"scheme": 5}), "scheme"),
    ("scheme object", conv_init({"scheme": {"a": 1}}), "scheme"),
    ("gain list", conv_init({"scheme": "xavier_normal", "gain": [1]}), "gain"),
    ("version 2", spec_with(version=2), "version"),
    ("version true", spec_with(version=True), "version"),
    ("trainable text", layer("ReLU", trainable="no"), "trainable"),
    # unicode
    ("layer name with accent", layer("ReLU", name="réseau"), "name"),
    ("layer name zero-width", layer("ReLU", name="conv\u200b1"), "name"),
    ("type homoglyph", spec_with(layers=[{"type": "Cοnv2d"}]), "Conv2d"),
    ("name with RTL override", spec_with(name="\u202eevil"), "name"),
    ("name with newline", spec_with(name="a\nb"), "name"),
    ("name 81 chars", spec_with(name="x" * 81), "name"),
    # injection attempts in every string field
    *[
        (f"{field}: {payload[:20]!r}", make(payload), "")
        for field, make in STRING_FIELDS.items()
        for payload in INJECTIONS
    ],
]

NAME_PAYLOADS = [p for p in INJECTIONS if p.isprintable() and len(p) <= 80] + [
    "Réseau ✓ 😀",
    "class",
    "3rd try",
    "None",
    "__init__",
]


def _ids(rows: list[Any]) -> list[str]:
    return [
        (r.values[0] if hasattr(r, "values") else r[0]).encode("ascii", "replace").decode()
        for r in rows
    ]


@pytest.mark.parametrize(("case", "value", "needle"), REJECTED, ids=_ids(REJECTED))
def test_builder_rejects_hostile_input_with_a_clear_message(case, value, needle):
    with pytest.raises(SpecError) as info:
        load_spec(value)
    message = str(info.value)
    assert message, case
    assert len(message) <= MAX_MESSAGE, f"{case}: a {len(message):,}-character message"
    assert needle in message, message
    if isinstance(value, dict):
        with pytest.raises(SpecError):
            analyze(value)
        with pytest.raises(SpecError):
            build_model(value)
        with pytest.raises(SpecError):
            generate_code(value)


IMPORTS_ALLOWED = {"torch", "torch.nn", "torch.nn.functional", "math"}


def assert_safe_code(code: str) -> None:
    """The exported code imports only torch and math, and calls nothing outside them."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert {a.name for a in node.names} <= IMPORTS_ALLOWED, ast.unparse(node)
        if isinstance(node, ast.ImportFrom):
            assert node.module in IMPORTS_ALLOWED, ast.unparse(node)
        if isinstance(node, ast.Name):
            assert node.id not in {"os", "system", "eval", "exec", "__import__", "open"}, node.id
        if isinstance(node, ast.Attribute):
            assert node.attr not in {"system", "popen"}, node.attr


@pytest.mark.parametrize("name", NAME_PAYLOADS, ids=lambda n: repr(n[:20]))
def test_any_printable_spec_name_loads_and_exports_safe_code(name):
    data = {**conv(), "name": name}
    spec = load_spec(data)
    assert spec.name == name
    assert spec.class_name.isidentifier() and spec.class_name.isascii()
    assert load_spec(json.loads(json.dumps(spec.to_dict()))).to_dict() == spec.to_dict()
    for functional in (False, True):
        assert_safe_code(generate_code(spec, functional_activations=functional))


@pytest.mark.parametrize(
    ("case", "data"),
    [
        ("huge but analysable", conv(out_channels=2**31 - 1, kernel_size=2**31 - 1)),
        (
            "10 billion parameters",
            spec_with(input_shape=[100_000], layers=[{"type": "Linear", "out_features": 100_000}]),
        ),
        ("kernel larger than input", conv(kernel_size=9)),
        ("dilation 2**31-1", conv(dilation=2**31 - 1)),
        ("flatten dims out of range", layer("Flatten", start_dim=-(2**31) + 1, end_dim=2**31 - 1)),
        ("softmax dim huge", layer("Softmax", dim=2**31 - 1)),
        ("output_size 2**31-1", layer("AdaptiveAvgPool2d", output_size=2**31 - 1)),
    ],
)
def test_builder_huge_but_valid_designs_analyse_instantly_and_refuse_to_build(case, data):
    analysis = analyze(data)
    if analysis.ok and analysis.total_params <= builder.limits.MAX_BUILD_PARAMS:
        return  # small enough to be a normal design
    with pytest.raises(SpecError) as info:
        build_model(data)
    assert len(str(info.value)) <= MAX_MESSAGE


# --- the app ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clear_cache():
    st.cache_data.clear()
    yield


def start(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def design(at: AppTest) -> dict[str, Any]:
    return at.session_state["design"]


def errors(at: AppTest) -> list[str]:
    """The error boxes as a reader sees them (the app backslash-escapes user text)."""
    return [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]


def open_card(at: AppTest, uid: int) -> AppTest:
    """Open a layer's card (a closed card draws no widgets)."""
    at.session_state[f"card:{uid}"] = True
    return at.run()


def set_out_channels(at: AppTest, uid: int, value: int) -> AppTest:
    open_card(at, uid).number_input(key=f"w:{uid}:out_channels").set_value(value)
    return at.run()


def still_serving(at: AppTest, expected: dict[str, Any]) -> None:
    """The design is what it was, and a normal edit (conv1's out_channels) still works."""
    assert not at.exception, [e.value for e in at.exception]
    assert design(at) == load_spec(expected).to_dict() or design(at) == expected
    set_out_channels(at, at.session_state["uids"][0], 9)
    assert not at.exception, [e.value for e in at.exception]
    assert design(at)["layers"][0]["out_channels"] == 9
    assert not [e for e in errors(at) if "Could not" in e or "could not" in e]


def pack(text: str) -> str:
    """A share string holding any text (as encode_design packs a design's JSON)."""
    packed = zlib.compress(text.encode("utf-8"), 9)
    return "1" + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


UPLOADS = [
    ("50 MB file", b" " * 50_000_000, "at most"),
    ("just over the limit", b" " * (MAX_UPLOAD_BYTES + 1), "at most"),
    ("not UTF-8", b"\xff\xfe{\x00", "Could not load"),
    ("empty file", b"", "Could not load"),
    ("100k nested lists", ("[" * 100_000 + "]" * 100_000).encode(), "Could not load"),
    ("100k nested objects", ('{"a":' * 100_000 + "1" + "}" * 100_000).encode(), "Could not load"),
    (
        "900 nested lists in input_shape",
        ('{"input_shape": ' + "[" * 900 + "1" + "]" * 900 + "}").encode(),
        "input_shape",
    ),
    ("5000-digit integer", ('{"input_shape": [1' + "0" * 5000 + "]}").encode(), "Could not load"),
    ("NaN", b'{"input_shape": [4], "layers": [{"type": "Dropout", "p": NaN}]}', "p must be"),
    ("top-level list", b"[1, 2, 3]", "JSON object"),
    ("wrong types", json.dumps(conv(out_channels="16")).encode(), "out_channels"),
    ("oversized out_channels", json.dumps(conv(out_channels=2**40)).encode(), "out_channels"),
    ("unicode type", json.dumps(spec_with(layers=[{"type": "Cοnv2d😀"}])).encode(), "type"),
    *[
        (f"injection in {field}", json.dumps(make(payload)).encode(), "Could not load")
        for field, make in STRING_FIELDS.items()
        for payload in INJECTIONS[:2]
    ],
]


@pytest.mark.parametrize(("case", "raw", "needle"), UPLOADS, ids=_ids(UPLOADS))
def test_app_hostile_upload_shows_an_error_and_keeps_the_design(case, raw, needle):
    at = start()
    at.file_uploader(key="upload").upload("design.json", raw, "application/json").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(needle in e for e in errors(at)), errors(at)
    assert all(len(e) <= MAX_MESSAGE + 200 for e in errors(at))
    still_serving(at, LENET)


def test_app_upload_holding_a_server_path_is_not_read(tmp_path):
    secret = tmp_path / "server_side.json"
    secret.write_text(json.dumps(spec_with(name="FromTheServersDisk")), encoding="utf-8")
    at = start()
    at.file_uploader(key="upload").upload("design.json", str(secret).encode(), "application/json")
    at.run()
    assert not at.exception
    assert design(at).get("name") != "FromTheServersDisk"
    assert any("Could not load" in e for e in errors(at))
    assert not any("server_side" in e for e in errors(at)), "the message names the server file"


LINKS = [
    ("200 KB link", "1" + "A" * 200_000, "too long"),
    ("damaged link", "1garbage!!", "could not be opened"),
    ("unknown format", "2abc", "could not be opened"),
    ("zip bomb", pack(" " * 50_000_000), "could not be opened"),
    ("100k nested lists", pack("[" * 100_000 + "]" * 100_000), "could not be opened"),
    ("5000-digit integer", pack('{"input_shape": [1' + "0" * 5000 + "]}"), "could not be opened"),
    ("not a design", pack("[1, 2]"), "could not be opened"),
    ("wrong types", encode_design(conv(out_channels="16")), "out_channels"),
    ("oversized numbers", encode_design(conv(out_channels=10**30)), "out_channels"),
    ("NaN", pack('{"input_shape": [4], "layers": [{"type": "Dropout", "p": NaN}]}'), "p must be"),
    ("unicode", encode_design(layer("ReLU", name="réseau")), "name"),
    *[
        (f"injection in {field}", encode_design(make(payload)), "could not be opened")
        for field, make in STRING_FIELDS.items()
        for payload in INJECTIONS[:2]
    ],
]


@pytest.mark.parametrize(("case", "link", "needle"), LINKS, ids=_ids(LINKS))
def test_app_hostile_share_link_shows_an_error_and_the_default(case, link, needle):
    at = start({"d": link})
    assert any(needle in e for e in errors(at)), errors(at)
    assert all(len(e) <= MAX_MESSAGE + 200 for e in errors(at))
    still_serving(at, LENET)


def test_json_text_with_a_byte_order_mark_loads_as_text():
    text = json.dumps(spec_with(name="Bom"))
    assert load_spec("\ufeff" + text).name == "Bom"
    assert load_spec(("\ufeff" + text).encode("utf-8")).name == "Bom"


def test_app_share_link_holding_a_server_path_is_never_read(tmp_path):
    """A link whose JSON is a string naming a file: refused as "not an object", never opened.

    Before the fix ``load_spec`` read a ``str`` as a path: this link loaded the server's file, and
    the message for a missing file differed from the one for an existing file.
    """
    secret = tmp_path / "server_side.json"
    secret.write_text(json.dumps(spec_with(name="FromTheServersDisk")), encoding="utf-8")
    shown = []
    for path in (str(secret), str(tmp_path / "missing.json")):
        at = start({"d": pack(json.dumps(path))})
        assert not at.exception, [e.value for e in at.exception]
        assert design(at).get("name") != "FromTheServersDisk"
        assert any("JSON object, got a string" in e for e in errors(at)), errors(at)
        shown.append(errors(at))
        still_serving(at, LENET)
    assert shown[0] == shown[1], "the messages tell an existing server path from a missing one"


def test_app_assignment_and_upload_holding_a_json_string_are_refused():
    at = start({"a": pack(json.dumps("/dev/zero"))})
    assert at.session_state["assignment"] is None
    assert any("JSON object" in e for e in errors(at)), errors(at)
    at.file_uploader(key="upload").upload("design.json", b'"/dev/zero"', "application/json")
    at.run()
    assert any("JSON object, got a string" in e for e in errors(at)), errors(at)
    still_serving(at, LENET)


@pytest.mark.xfail(
    strict=True,
    reason="a 1 MB share link shows the default design with no message: Streamlit drops query "
    "strings over 524,288 characters (runtime/state/query_params.py) before the app sees 'd'",
)
def test_app_1mb_share_link_shows_a_clear_message():
    at = start({"d": "1" + "A" * 1_000_000})
    still_serving(at, LENET)
    assert any("too long" in e or "could not be opened" in e for e in errors(at)), errors(at)


ASSIGNMENT_LINKS = [
    ("damaged", "1garbage!!"),
    ("too long", "1" + "A" * 100_000),
    ("zip bomb", pack(" " * 10_000_000)),
    ("unknown key", pack(json.dumps({"evil": 1}))),
    ("wrong types", pack(json.dumps({"max_params": "1e9"}))),
    ("huge number", pack(json.dumps({"max_params": 10**40}))),
    ("injection in allowed_types", pack(json.dumps({"allowed_types": ["__import__('os')"]}))),
    ("injection in locked", pack(json.dumps({"locked": ["</script>"]}))),
]


@pytest.mark.parametrize(("case", "link"), ASSIGNMENT_LINKS, ids=[c for c, _ in ASSIGNMENT_LINKS])
def test_app_hostile_assignment_link_shows_an_error_and_opens_without_it(case, link):
    at = start({"a": link})
    assert at.session_state["assignment"] is None
    assert any("assignment" in e for e in errors(at)), errors(at)
    still_serving(at, LENET)


MARKDOWN_PAYLOAD = "![x](https://evil.example/p.png)"


@pytest.mark.parametrize(
    "where",
    ["name in a shared link", "layer type in an upload", "assignment title"],
)
def test_app_does_not_render_user_text_as_markdown(where):
    if where == "name in a shared link":
        at = start({"d": encode_design({**conv(), "name": MARKDOWN_PAYLOAD})})
    elif where == "assignment title":
        assignment = load_assignment({"title": MARKDOWN_PAYLOAD, "max_params": 100})
        at = start({"a": encode_assignment(assignment)})
    else:
        at = start()
        raw = json.dumps(spec_with(layers=[{"type": MARKDOWN_PAYLOAD}])).encode()
        at.file_uploader(key="upload").upload("design.json", raw, "application/json").run()
    assert not at.exception
    shown = [e.value for e in (*at.markdown, *at.error, *at.success, *at.caption, *at.info)]
    assert not [s for s in shown if MARKDOWN_PAYLOAD in s], "raw Markdown from the user"


IMPORTS = [
    ("runs nothing", "import os\nos.system('touch /tmp/netbuilder_pwned')\n"),
    ("dunder import", "class Net(nn.Module):\n    x = __import__('os').system('id')\n"),
    ("not Python", "}}}{{{" * 100),
    ("deep nesting", "x = " + "(" * 5000 + "1" + ")" * 5000),
    (
        "huge power",
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(9**9**9, 2)\n",
    ),
    ("null bytes", "class Net:\x00\n"),
    ("too long", "# " + "x" * 60_000),
]


@pytest.mark.parametrize(("case", "source"), IMPORTS, ids=[c for c, _ in IMPORTS])
def test_app_hostile_code_import_shows_an_error_and_keeps_the_design(case, source):
    at = start()
    at.session_state["view"] = "Import code"
    at.session_state["import_code"] = source
    at.run()
    at.button(key="import_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Could not import" in e for e in errors(at)), errors(at)
    assert not Path("/tmp/netbuilder_pwned").exists()
    still_serving(at, LENET)


# --- no cross-session leakage -------------------------------------------------------------------


def test_two_sessions_editing_different_designs_do_not_see_each_other():
    a, b = start(), start()
    set_out_channels(a, 0, 7)
    set_out_channels(b, 0, 11)
    open_card(b, 1).button(key="del:1").click().run()
    set_out_channels(a, 3, 13)
    assert design(a)["layers"][0]["out_channels"] == 7
    assert design(a)["layers"][3]["out_channels"] == 13
    assert len(design(a)["layers"]) == 12
    assert design(b)["layers"][0]["out_channels"] == 11
    assert design(b)["layers"][2]["out_channels"] == 16  # conv2, moved up by the delete
    assert len(design(b)["layers"]) == 11
    assert a.query_params["d"] == encode_design(design(a))
    assert b.query_params["d"] == encode_design(design(b))
    # undo in one session undoes only its own edits
    b.button(key="undo").click().run()
    assert len(design(b)["layers"]) == 12 and len(design(a)["layers"]) == 12
    assert design(a)["layers"][3]["out_channels"] == 13
    assert not a.exception and not b.exception


UI_FILES = [ROOT / "streamlit_app.py", *sorted((ROOT / "ui").rglob("*.py"))]
CACHE_MODULE = ROOT / "ui" / "cache.py"


def _cached_functions(tree: ast.Module) -> list[str]:
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if ast.unparse(target) == "st.cache_data":
                    names.append(node.name)
    return names


def test_app_keeps_no_shared_mutable_state():
    for path in UI_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            assert not isinstance(node, (ast.Global, ast.Nonlocal)), (path, ast.unparse(node))
            if isinstance(node, ast.Attribute):
                assert node.attr != "cache_resource", f"{path}: cache_resource is shared by all"
        if path != CACHE_MODULE:
            assert not _cached_functions(tree), f"{path}: every cached call lives in ui/cache.py"
    assert _cached_functions(ast.parse(CACHE_MODULE.read_text(encoding="utf-8")))


CACHED_CALLS = {
    "cached_histograms": lambda spec_json: (spec_json,),
    "cached_signal": lambda spec_json: (spec_json, 8, "eval", "—"),
    "cached_code": lambda spec_json: (spec_json, False),
    "cached_model_text": lambda spec_json: (spec_json,),
    "cached_summary": lambda spec_json: (spec_json,),
    "cached_receptive": lambda spec_json: (spec_json,),
    "cached_memory": lambda spec_json: (spec_json, 64, "float32", "adam"),
    "cached_diagram": lambda spec_json: (spec_json,),
}


def _mutate(value: Any) -> None:
    if isinstance(value, dict):
        for key in list(value):
            value[key] = "MUTATED"
        value["MUTATED"] = True
    elif isinstance(value, list):
        value.append("MUTATED")


def test_cached_functions_are_keyed_on_content_and_return_copies():
    import ui.cache

    names = _cached_functions(ast.parse(CACHE_MODULE.read_text(encoding="utf-8")))
    assert set(names) == set(CACHED_CALLS), "a new cached function: add how to call it here"
    first = load_spec(preset()).to_json()
    # the same design arriving from another session: equal content, a different string object
    second = load_spec(json.loads(json.dumps(preset()))).to_json()
    assert first == second and first is not second
    for name in names:
        fn = getattr(ui.cache, name)
        a = fn(*CACHED_CALLS[name](first))
        b = fn(*CACHED_CALLS[name](second))
        assert a == b, name
        if isinstance(a, (dict, list)):
            assert a is not b, f"{name} hands two sessions the same object"
            _mutate(a)
            c = fn(*CACHED_CALLS[name](second))
            assert c == b and c != a, f"{name}: a caller's change reached the cache"


def _largest_design() -> dict[str, Any]:
    """200 layers, the longest names, every conv with weights: the biggest entry of each cache."""
    layers = []
    for i in range(100):
        layers.append(
            {
                "type": "Conv2d",
                "name": f"c{i}_" + "x" * 58,
                "out_channels": 8,
                "kernel_size": 3,
                "padding": 1,
            }
        )
        layers.append({"type": "BatchNorm2d", "name": f"b{i}_" + "y" * 58})
    return {"name": "N" * 80, "input_shape": [3, 16, 16], "layers": layers}


def test_caches_cannot_pin_more_than_their_byte_budget():
    """Each cache's largest possible entry times its entry count, summed, stays in budget.

    Before: ``cached_weights`` kept 16 weight files of up to 120 MB (1.9 GB) with no TTL.
    """
    import pickle

    import ui.cache

    spec_json = load_spec(_largest_design()).to_json()
    total = 0
    for name, call in CACHED_CALLS.items():
        size = len(pickle.dumps(getattr(ui.cache, name)(*call(spec_json))))
        total += size * ui.cache.ENTRIES[name.removeprefix("cached_")]
    assert total <= ui.cache.CACHE_BUDGET_BYTES, f"{total / 2**20:.0f} MB"
    assert not hasattr(ui.cache, "cached_weights"), "the weights file is model-sized"


def _module_state() -> str:
    import builder.initializers
    import builder.layers
    import builder.presets
    import builder.spec

    return repr(
        (
            sorted(builder.layers.REGISTRY.items()),
            sorted(builder.initializers.SCHEMES.items()),
            [builder.presets.preset(n) for n in builder.presets.PRESET_NAMES],
            builder.spec.RESERVED_NAMES,
        )
    )


def test_builder_module_state_is_not_changed_by_use():
    before = _module_state()
    for name in builder.presets.PRESET_NAMES:
        data = preset(name)
        spec = load_spec(data)
        data["layers"].append({"type": "ReLU"})  # the caller's dict is theirs
        analysis = analyze(spec)
        if analysis.ok and analysis.total_params < 2_000_000:
            model = build_model(spec)
            for p in model.parameters():
                p.data.fill_(3.0)  # a caller changing its model changes nothing shared
            generate_code(spec)
        assert load_spec(preset(name)).to_dict() == spec.to_dict()
    assert _module_state() == before


def test_overlapping_runs_in_two_sessions_restore_torch_thread_count():
    import torch

    from builder import histograms, training

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        # fixed: one shared counter in builder/rng.py, used by both
        histograms_run = histograms.intra_op_threads(1)  # session A: Histograms tab
        training_run = training.intra_op_threads(1)  # session B: Train button
        histograms_run.__enter__()
        training_run.__enter__()
        histograms_run.__exit__(None, None, None)  # A finishes first
        training_run.__exit__(None, None, None)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def _seeded_spec(seed: int) -> dict[str, Any]:
    layers: list[dict[str, Any]] = []
    for channels in (32, 64, 64):
        layers += [{"type": "Conv2d", "out_channels": channels, "kernel_size": 3, "padding": 1}]
        layers += [{"type": "ReLU"}]
    layers += [{"type": "Flatten"}, {"type": "Linear", "out_features": 32}]
    init = {
        "Conv2d": {"weight": {"scheme": "kaiming_normal"}},
        "Linear": {"weight": {"scheme": "orthogonal"}},
    }
    return {"input_shape": [3, 12, 12], "seed": seed, "layers": layers, "init": init}


def test_two_sessions_building_at_once_get_the_weights_of_their_own_seed():
    """torch's generator is process-wide: concurrent builds must not draw from each other's."""
    import sys
    import threading

    import torch

    reference = {s: build_model(_seeded_spec(s)).state_dict() for s in (1, 2)}
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for _ in range(5):
            built: dict[int, Any] = {}

            def build(seed: int, into: dict[int, Any] = built) -> None:
                into[seed] = build_model(_seeded_spec(seed))

            threads = [threading.Thread(target=build, args=(s,)) for s in (1, 2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for seed, model in built.items():
                state = model.state_dict()
                assert all(torch.equal(state[k], reference[seed][k]) for k in state), seed
    finally:
        sys.setswitchinterval(interval)


VIEWS = [name for name in edit_tabs() if name != "Import code"]  # each tab showing a design


@pytest.mark.parametrize(
    ("case", "edit", "needle"),
    [
        (
            "out_channels at the widget's maximum",
            lambda at: set_out_channels(at, 0, 2**31 - 1),
            None,
        ),
        (
            "linear width at the widget's maximum",
            lambda at: _set(at, 9, "out_features", 2**31 - 1),
            None,
        ),
        ("input 100000 x 100000", lambda at: _set_input(at, 100_000), "limit"),
    ],
)
def test_app_oversized_numbers_through_the_widgets_keep_every_view_serving(case, edit, needle):
    at = start()
    edit(at)
    assert not at.exception, [e.value for e in at.exception]
    assert needle is None or any(needle in e for e in errors(at)), errors(at)
    for view in VIEWS:  # no tab may try to build (or draw) what is far too large
        at.session_state["view"] = view
        at.run(timeout=60)
        assert not at.exception, (view, [e.value for e in at.exception])
    while at.session_state["undo_stack"]:
        at.button(key="undo").click().run()
    still_serving(at, LENET)


def _set(at: AppTest, uid: int, field: str, value: int) -> AppTest:
    open_card(at, uid).number_input(key=f"w:{uid}:{field}").set_value(value)
    return at.run()


def _set_input(at: AppTest, size: int) -> AppTest:
    at.number_input(key="w:in_H").set_value(size).run()
    return at.number_input(key="w:in_W").set_value(size).run()


# --- Hardening II: every tab handles SpecError, links never go stale, widgets match the spec ---


def test_a_design_with_numbers_past_every_literal_bound_keeps_every_view_serving():
    """Analysis passes, 4.6e19 parameters: before, the Code tab raised an uncaught SpecError
    (the generic error box replaced the page and the link sync was skipped). The count is now a
    comment written without the literal bound, and every view serves."""
    huge = {
        "input_shape": [1, 3, 3],
        "layers": [
            {"type": "AdaptiveAvgPool2d", "output_size": [2**31 - 1, 2**31 - 1]},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 10},
        ],
    }
    assert analyze(huge).ok
    ast.parse(generate_code(huge))
    at = start({"d": encode_design(huge)})
    for view in VIEWS:
        at.session_state["view"] = view
        at.run(timeout=60)
        assert not at.exception, (view, [e.value for e in at.exception])
    at.session_state["view"] = "Code"
    at.run()
    assert any("class Net" in c.value for c in at.code)
    assert at.query_params["d"] == encode_design(design(at))


def test_a_tab_that_raises_spec_error_shows_its_own_message_and_the_page_goes_on():
    """``ui.tabs.guarded``: whatever a view raises for a design (a SpecError, or an allocator
    failure inside torch) becomes that tab's message; what follows it still renders."""

    def script():
        import streamlit as st

        import builder
        from builder.presets import preset
        from ui.tabs import Context, guarded

        spec = builder.load_spec(preset())
        ctx = Context.of(spec, builder.analyze(spec), preset())

        def bad_spec(ctx):
            raise builder.SpecError("layer 3 (fc1): cannot write this")

        def no_memory(ctx):
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory")

        guarded(bad_spec, ctx)
        guarded(no_memory, ctx)
        st.markdown("still here")

    at = AppTest.from_function(script, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("cannot show this design" in e.value and "fc1" in e.value for e in at.error)
    assert any("ran out of server resources" in e.value for e in at.error)
    assert any(m.value == "still here" for m in at.markdown)


def _too_big_for_a_link() -> dict[str, Any]:
    """200 legal layers with 64-character names and their own initializers (incompressible)."""
    import random
    import string

    rng = random.Random(0)
    layers = []
    for i in range(200):
        name = rng.choice(string.ascii_letters) + "".join(
            rng.choices(string.ascii_letters + string.digits + "_", k=63)
        )
        std = round(rng.uniform(0.001, 0.1), 6)
        init = {
            "weight": {"scheme": "normal", "mean": 0.0, "std": std},
            "bias": {"scheme": "uniform", "a": -std, "b": round(rng.uniform(0.001, 0.1), 6)},
        }
        layers.append({"type": "Linear", "name": name, "out_features": 8 + i % 7, "init": init})
    return {"input_shape": [8], "layers": layers}


def test_a_design_too_large_for_a_link_says_so_and_leaves_no_stale_link():
    big = _too_big_for_a_link()
    load_spec(big)  # a legal design
    from builder.share import LinkTooLong

    with pytest.raises(LinkTooLong):  # before: a ~31,000-character link the app refused to open
        encode_design(big)
    at = start()
    assert "d" in at.query_params
    at.file_uploader(key="upload").upload("big.json", json.dumps(big).encode(), "application/json")
    at.run()
    assert not at.exception
    assert len(design(at)["layers"]) == 200
    assert "d" not in at.query_params, "the address bar still holds the previous design"
    assert any("too large for a link" in w.value for w in at.sidebar.warning)


def test_an_edit_the_spec_refuses_keeps_the_link_on_the_design_shown():
    at = start()
    open_card(at, 0)
    at.selectbox(key="w:0:padding:mode").set_value("same").run()
    link = at.query_params["d"]
    at.number_input(key="w:0:stride:h").set_value(2).run()  # padding='same' needs stride 1
    assert not at.exception
    assert any("padding='same' needs stride 1" in e for e in errors(at)), errors(at)
    assert at.query_params["d"] == link == encode_design(design(at))
    assert load_spec(design(at))


CROSS_FIELD = ("must divide", "needs stride 1", "at most half of kernel_size")


def test_every_layer_widget_offers_only_values_the_spec_accepts():
    """Each argument widget's min and max (and each choice) loads as that layer."""
    from builder.edits import new_layer, new_merge
    from builder.layers import REGISTRY

    at = start()
    for layer_type in REGISTRY:
        fresh = new_merge({}, layer_type) if REGISTRY[layer_type].merge else new_layer(layer_type)
        data = {"input_shape": [4, 16, 16], "layers": [fresh]}
        if layer_type in ("Linear", "BatchNorm1d"):
            data["input_shape"] = [16]
        at = start({"d": encode_design(data)})
        at.session_state["card:0"] = True
        at.session_state["w:0:more"] = True
        at.run()
        for box in at.number_input:
            if not box.key or not box.key.startswith("w:0:") or box.key.count(":") != 2:
                continue
            arg = box.key.split(":")[2]
            kind = REGISTRY[layer_type].arg(arg).kind.value
            for value in (box.min, box.max):
                value = int(value) if kind in ("int", "opt_int") else float(value)
                candidate = dict(data["layers"][0], **{arg: value})
                if arg == "divisor_override" and value == 0:
                    continue  # 0 is the widget's "None"
                try:
                    load_spec({**data, "layers": [candidate]})
                except SpecError as exc:  # only rules between two fields may refuse it
                    assert any(rule in str(exc) for rule in CROSS_FIELD), (layer_type, arg, exc)


def test_initializer_widgets_offer_only_values_the_spec_accepts():
    from builder.initializers import SCHEMES
    from builder.spec import init_arg_bounds

    for scheme in SCHEMES.values():
        for arg in scheme.args:
            if arg.kind in ("choice", "int"):
                continue
            for value in init_arg_bounds(arg.kind):
                init = {"scheme": scheme.name, arg.name: value}
                data = spec_with(init={"Conv2d": {"weight": init}})
                if scheme.min_ndim > 4 or scheme.max_ndim < 4:
                    continue
                try:
                    load_spec(data)
                except SpecError as exc:  # only rules between two arguments may refuse it
                    assert "needs a < b" in str(exc) or "within 5 std" in str(exc), exc


def test_train_and_sizes_tabs_offer_the_builders_optimizers_and_batch_bounds():
    from builder.memory import DTYPE_BYTES, MAX_BATCH
    from builder.training import OPTIMIZERS, training_batch_limit

    at = start()
    at.session_state["view"] = "Train"
    at.run()
    assert list(at.selectbox(key="train_opt").options) == list(OPTIMIZERS)
    assert at.number_input(key="train_batch").max == training_batch_limit(preset())
    at.session_state["view"] = "Sizes & memory"
    at.run()
    assert list(at.selectbox(key="mem_opt").options) == list(OPTIMIZERS)
    assert list(at.selectbox(key="mem_dtype").options) == list(DTYPE_BYTES)
    assert at.number_input(key="mem_batch").max == MAX_BATCH


HEAVY_DESIGNS = {
    # no parameters, ~150 M activation elements per sample: before, ~4 GB for a batch of 2
    "150M activations": {
        "input_shape": [3, 1024, 1024],
        "layers": [{"type": "MaxPool2d", "kernel_size": 1, "stride": 1}] * 47,
    },
    # 2.6e13 multiply-adds per sample: before, minutes of server CPU in the Signal tab
    "1023 kernel": {
        "input_shape": [3, 1024, 1024],
        "layers": [{"type": "Conv2d", "out_channels": 8, "kernel_size": 1023, "padding": "same"}],
    },
}


@pytest.mark.parametrize("name", list(HEAVY_DESIGNS))
def test_signal_and_train_tabs_refuse_designs_over_the_compute_limits_at_once(name):
    import time

    at = start({"d": encode_design(HEAVY_DESIGNS[name])})
    for view, needle in (("Signal", "signal pass is not run"), ("Train", "not offered")):
        at.session_state["view"] = view
        began = time.perf_counter()
        at.run(timeout=30)
        assert time.perf_counter() - began < 10
        assert not at.exception, [e.value for e in at.exception]
        assert any(needle in i.value for i in at.info), (view, [i.value for i in at.info])
    assert len(design(at)["layers"]) == len(HEAVY_DESIGNS[name]["layers"])
