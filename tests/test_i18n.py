"""Translations (issue 16): the zh_CN catalog is complete and format-safe, the language is picked
link > session > browser > English, and builder errors render in Chinese from their message ids.

The catalog is read here with Babel directly (not through ``ui.i18n``), message ids are found in
the source with Babel's own extractor and ``ast``, and English texts are compared with strings
written out by hand.
"""

from __future__ import annotations

import ast
import pickle
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from streamlit.testing.v1 import AppTest

import builder
from builder.assignment import LOCKABLE
from builder.errors import SpecError
from builder.layers import CATEGORIES, REGISTRY, LayerProblem
from builder.messages import Message, message
from ui import glossary, i18n

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "ui" / "locale" / "zh_CN" / "LC_MESSAGES" / "netbuilder.po"
HAN = re.compile(r"[\u4e00-\u9fff]")
KEYWORDS = {"t": None, "translate": None, "ngettext": (1, 2), "message": None, "N_": None}
"""The functions whose first argument is a message id (babel.cfg's ``-k`` list)."""


@pytest.fixture(scope="module")
def po():
    with PO.open("rb") as handle:
        return read_po(handle, locale="zh_CN")


def _ids(po) -> dict:
    return {m.id: m.string for m in po if m.id}


def _names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _literal(node: ast.AST) -> str | None:
    """A string literal, or one wrapped in ``N_(...)``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_":
        node = node.args[0]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _spec_ids() -> set[str]:
    """Every template builder/spec.py hands to ``message`` / ``_got``: a literal, or a name bound
    to one (``msgid = N_(...)``, ``_POSITIVE = N_(...)``)."""
    tree = ast.parse((ROOT / "builder" / "spec.py").read_text())
    bound: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _literal(node.value) is not None:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    bound.setdefault(target.id, []).append(_literal(node.value))
    found = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id in ("message", "_got") and node.args:
            first = node.args[0]
            if _literal(first) is not None:
                found.add(_literal(first))
            elif isinstance(first, ast.Name):
                found.update(bound[first.id])
    return found


def _load_error(spec: dict) -> SpecError:
    with pytest.raises(SpecError) as caught:
        builder.load_spec(spec)
    return caught.value


# --- the catalog ---------------------------------------------------------------------------


def test_every_message_id_has_a_chinese_translation(po):
    entries = [m for m in po if m.id]
    assert len(entries) > 300
    missing = [m.id for m in entries if not m.string or m.fuzzy]
    assert not missing, f"untranslated: {missing[:10]}"
    english_only = [
        m.id for m in entries if not HAN.search(m.string) and re.search(r"[A-Za-z]{3}", m.id)
    ]
    # formulas (tanh(x), max(0, x)) and pure placeholders stay as they are; prose never does
    prose = [i for i in english_only if re.search(r"\b[a-z]{3,}\b \b[a-z]{3,}\b", i)]
    assert not prose, prose


def test_every_placeholder_survives_translation(po):
    for msgid, text in _ids(po).items():
        assert _names(msgid) == _names(text), (msgid, text)
        values = {name: "X" for name in _names(msgid)}
        text.format(**values)  # no stray brace or bad field in a translation


def test_source_message_ids_are_in_the_catalog(po):
    """Every id Babel's extractor finds (t(), ngettext(), message()) and every template
    builder/spec.py formats has a translation: a new string without one fails here."""
    ids = _ids(po)
    extracted = set()
    sources = [
        ROOT / "streamlit_app.py",
        *(ROOT / "ui").rglob("*.py"),
        *(ROOT / "builder").rglob("*.py"),
    ]
    for path in sources:
        for _, msgid, _, _ in extract_from_file("python", str(path), keywords=KEYWORDS):
            extracted.add(msgid if isinstance(msgid, str) else msgid[0])
    assert "one integer or a pair [h, w]" in extracted  # the extractor reads message(...)
    spec_ids = _spec_ids()
    assert "{where}: {layer} has no argument {value}{hint}" in spec_ids
    assert len(spec_ids) >= 35
    # pybabel extract sees every template (else `pybabel update` would drop its translation)
    assert not spec_ids - extracted, sorted(spec_ids - extracted)
    assert not extracted - set(ids), sorted(extracted - set(ids))


def test_palette_summaries_assignment_and_metrics_are_in_the_catalog(po):
    from ui.summary import METRICS
    from ui.tabs import edit_tabs

    ids = _ids(po)
    wanted = {
        *CATEGORIES,
        *(entry.summary for entry in REGISTRY.values()),
        *LOCKABLE.values(),
        "the design is valid",
        "at most {max_params} parameters",
        "output shape {shape}",
        *(text for pair in METRICS for text in pair),
        *edit_tabs(),
    }
    assert not wanted - set(ids), sorted(wanted - set(ids))


def test_catalog_uses_the_glossary_vocabulary(po):
    ids = _ids(po)
    chinese = {term.english: term.chinese for term in glossary.TERMS}
    assert ids["convolution"] == chinese["convolutional layer (Conv2d)"] == "卷积层"
    assert ids["pooling"] == chinese["pooling layer"] == "池化层"
    assert ids["activation"] == chinese["activation function"] == "激活函数"
    assert ids["linear"] == chinese["fully connected layer (Linear)"] == "全连接层"
    assert ids["Parameters"] == chinese["parameter count"] == "参数量"
    assert ids["Mult-adds"] == chinese["mult-adds (MACs)"] == "乘加运算"
    assert ids["output shape"] == chinese["output size"] == "输出尺寸"
    assert ids["initializers"] == chinese["weight initialization"] == "权重初始化"
    assert chinese["batch normalization"] in ids["BatchNorm running statistics: not parameters"]
    assert chinese["receptive field"] in ids[next(i for i in ids if i.startswith("Receptive"))]


# --- t() and its fallbacks -----------------------------------------------------------------


def test_translate_and_its_fallbacks(monkeypatch):
    assert i18n.translate("Undo (Ctrl+Z)", "zh_CN") == "撤销 (Ctrl+Z)"
    assert i18n.translate("Loaded {name}.", "zh_CN", name="LeNet") == "已加载 LeNet。"
    assert i18n.translate("Loaded {name}.", "en", name="LeNet") == "Loaded LeNet."
    assert i18n.translate("Not in any catalog: {n}", "zh_CN", n=3) == "Not in any catalog: 3"
    assert i18n.translate("Undo (Ctrl+Z)", "fr") == "Undo (Ctrl+Z)"  # no catalog: English
    # a translation whose placeholders do not match falls back to English, never raises
    monkeypatch.setattr(i18n, "catalog", lambda lang: {"a {x}": "乙 {y}", "b": ""})
    assert i18n.translate("a {x}", "zh_CN", x=1) == "a 1"


def test_plural_forms(monkeypatch):
    assert i18n.translate_plural("{n} layer", "{n} layers", 1, "en") == "1 layer"
    assert i18n.translate_plural("{n} layer", "{n} layers", 4, "zh_CN") == "4 layers"
    monkeypatch.setattr(i18n, "catalog", lambda lang: {("{n} layer", "{n} layers"): ("{n} 层",)})
    assert i18n.translate_plural("{n} layer", "{n} layers", 4, "zh_CN") == "4 层"


def test_catalog_skips_empty_and_fuzzy_entries(tmp_path, monkeypatch):
    folder = tmp_path / "xx" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "netbuilder.po").write_text(
        'msgid "a"\nmsgstr "甲"\n\nmsgid "b"\nmsgstr ""\n\n#, fuzzy\nmsgid "c"\nmsgstr "丙"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.catalog.cache_clear()
    try:
        assert dict(i18n.catalog("xx")) == {"a": "甲"}
        assert i18n.translate("b", "xx") == "b"
    finally:
        i18n.catalog.cache_clear()


# --- which language ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "kept", "locale", "expected"),
    [
        ("zh-CN", None, "en-US", "zh_CN"),
        ("zh", None, None, "zh_CN"),
        ("zh-Hans", None, None, "zh_CN"),
        ("zh_CN", None, None, "zh_CN"),
        ("en", None, "zh-CN", "en"),  # the link beats the browser
        ("en", "zh_CN", None, "en"),  # and the kept choice
        (None, None, "zh-CN", "zh_CN"),  # no link: the browser
        (None, "en", "zh-CN", "en"),  # the picker's choice beats the browser
        (None, None, "en-GB", "en"),
        (None, None, None, "en"),
        ("fr", None, "zh-SG", "zh_CN"),  # an unknown link language is skipped
        (None, None, "zh-TW", "en"),  # Traditional Chinese: no catalog, English
        (["zh"], None, None, "en"),  # not a string: ignored
    ],
)
def test_detect_language_order(query, kept, locale, expected):
    assert i18n.detect_language(query, locale, kept) == expected


def _app() -> None:
    import streamlit as st

    from ui import i18n

    with st.sidebar:
        i18n.lang_picker()
    st.markdown(i18n.t("Add a layer"))


def test_picker_follows_the_link_and_writes_it_back():
    at = AppTest.from_function(_app)
    at.query_params["lang"] = "zh-CN"
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox[0].value == "zh_CN"
    assert at.markdown[0].value == "添加层"
    at.sidebar.selectbox[0].set_value("en").run()
    assert at.markdown[0].value == "Add a layer"
    assert at.query_params["lang"] == "en"


# --- builder messages ----------------------------------------------------------------------


def test_message_is_its_english_text_and_remembers_how():
    assert isinstance(message("x"), str) and isinstance(message("x"), Message)
    text = message(
        "{where}: {key} must be a number, got {value}", where="spec", key="x", value="'a'"
    )
    assert text == "spec: x must be a number, got 'a'"
    assert text.msgid == "{where}: {key} must be a number, got {value}"
    assert dict(text.params) == {"where": "spec", "key": "x", "value": "'a'"}
    braces = message("{where} must be like {{'scheme': 'zeros'}}", where="init")
    again = pickle.loads(pickle.dumps(braces))
    assert again == "init must be like {'scheme': 'zeros'}" and again.msgid == braces.msgid


def test_spec_error_stays_backward_compatible():
    plain = SpecError("layer 1: bad")
    assert str(plain) == "layer 1: bad" and plain.msgid is None and plain.params == {}
    explicit = SpecError("x = 1", msgid="x = {x}", params={"x": 1})
    assert explicit.msgid == "x = {x}" and explicit.params == {"x": 1}
    assert isinstance(plain, ValueError)
    assert i18n.render_error(plain, "zh_CN") == "layer 1: bad"  # no id: its English text


LENET = {
    "input_shape": [1, 28, 28],
    "layers": [{"type": "Conv2d", "out_channels": 6, "kernel_size": 5}],
}


def _with(**layer) -> dict:
    return {"input_shape": [1, 28, 28], "layers": [{**LENET["layers"][0], **layer}]}


@pytest.mark.parametrize(
    ("spec", "english", "chinese_parts"),
    [
        (
            _with(out_channels=-1),
            "layer 1 (conv1): out_channels must be a positive integer, got -1",
            ("第 1 层（conv1）", "out_channels", "正整数", "-1"),
        ),
        (
            {"input_shape": [1, 28, 28], "layers": [{"type": "Conv2x"}]},
            "layer 1: type must be a known layer type, got 'Conv2x' (did you mean 'Conv2d'?)",
            ("第 1 层", "已知的层类型", "'Conv2x'", "你是想写 'Conv2d' 吗"),
        ),
        (
            _with(kernal_size=3),
            "layer 1 (conv1): Conv2d has no argument 'kernal_size' (did you mean 'kernel_size'?)",
            ("Conv2d 没有参数 'kernal_size'", "'kernel_size'"),
        ),
        (
            {"input_shape": [1, 28, 28], "layers": [{"type": "Linear"}]},
            "layer 1 (fc1): Linear needs out_features",
            ("第 1 层（fc1）", "Linear 需要 out_features"),
        ),
        (
            _with(kernel_size=[1, 2, 3]),
            "layer 1 (conv1): kernel_size must be one integer or a pair [h, w], got [1, 2, 3]",
            ("一个整数或一对 [h, w]", "[1, 2, 3]"),
        ),
        (
            {"input_shape": [1, 8, 8], "layers": [{"type": "Add"}]},
            "layer 1 (add1): inputs: Add joins 2 or more inputs; name them, e.g. ['input', 'input']",
            ("Add 要合并 2 个或更多输入", "['input', 'input']"),
        ),
        (
            _with(inputs=["relu9"]),
            "layer 1 (conv1): inputs: no earlier layer is named 'relu9'",
            ("前面没有名为 'relu9' 的层",),
        ),
        (
            _with(name="forward"),
            "layer 1 (Conv2d): name 'forward' is reserved by Python or nn.Module",
            ("第 1 层（Conv2d）", "'forward'", "保留"),
        ),
        (
            {"input_shape": [1, 28, 28], "layerz": []},
            "spec: unknown key 'layerz' (did you mean 'layers'?)",
            ("设计：未知的键 'layerz'", "'layers'"),
        ),
    ],
)
def test_spec_errors_carry_ids_and_render_in_chinese(spec, english, chinese_parts):
    error = _load_error(spec)
    assert str(error) == english
    assert error.msgid is not None and error.msgid.format(**error.params) == english
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == english and again.msgid == error.msgid
    chinese = i18n.render_error(error, "zh_CN")
    for part in chinese_parts:
        assert part in chinese, (part, chinese)
    assert not re.search(r"\b(must|got|layer|did you mean)\b", chinese), chinese
    assert i18n.render_error(error, "en") == english


def test_layer_problem_renders_its_message_and_fix():
    problem = LayerProblem(
        "kernel_size",
        message(
            "{where}: {key} must be an integer, got {value}",
            where=message("layer {index}", index=2),
            key="k",
            value="'a'",
        ),
        "set k to 3",
    )
    assert (
        i18n.render_error(problem, "en")
        == "layer 2: k must be an integer, got 'a'. Fix: set k to 3"
    )
    assert (
        i18n.render_error(problem, "zh_CN")
        == "第 2 层：k 必须是整数，收到的是 'a'。修改建议：set k to 3"
    )
    plain = LayerProblem("input", "Linear needs a flat input")
    assert i18n.render_error(plain, "zh_CN") == "Linear needs a flat input"


# --- the glossary --------------------------------------------------------------------------


def test_glossary_covers_the_issues_terms():
    terms = glossary.TERMS
    assert len(terms) >= 40
    assert len({t.english for t in terms}) == len(terms) == len({t.chinese for t in terms})
    chinese = " ".join(t.chinese for t in terms)
    for word in (
        "卷积层",
        "池化层",
        "批归一化",
        "全连接层",
        "激活函数",
        "参数量",
        "权重初始化",
        "感受野",
        "输出尺寸",
        "乘加运算",
        "残差连接",
        "跳跃连接",
        "拼接",
        "上采样",
    ):
        assert word in chinese, word
    assert all(HAN.search(t.explanation) and "\n" not in t.explanation for t in terms)


def _glossary_app() -> None:
    from ui import glossary

    glossary.render()


def test_glossary_view_shows_every_term():
    at = AppTest.from_function(_glossary_app).run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert list(frame.columns) == ["English", "中文", "说明"]
    assert len(frame) == len(glossary.TERMS)
    assert set(frame["中文"]) == {t.chinese for t in glossary.TERMS}
