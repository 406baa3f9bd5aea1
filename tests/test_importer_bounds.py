"""spec_from_code on hostile input: time and memory grow with the text, never faster.

Helper methods that each call the next twice used to be inlined 2**n times (n=23: 8-18 s and
~350 MB; n=40 never ends), and every unreadable statement re-split the whole source (49 KB of
``a()``: about 40 s). Each case here must answer within ``BOUND`` seconds, measured; a hang on the
code before the fix is cut at ``DEADLINE`` and fails. Legitimate helper recipes are checked
against torch running the same class.
"""

from __future__ import annotations

import ast
import runpy
import signal
import textwrap
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch

from builder.codegen import generate_code
from builder.errors import SpecError
from builder.importer import MAX_INIT_WORK, MAX_PROBLEMS, MAX_SNIPPET, spec_from_code
from builder.limits import MAX_CODE_CHARS
from builder.model import build_model
from builder.spec import load_spec

BOUND = 2.0  # seconds: generous on a shared CI machine; the fixed importer takes milliseconds
DEADLINE = 15  # seconds after which a hang is cut short and fails
HEAD = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"


@contextmanager
def _deadline() -> Iterator[None]:
    """Fail instead of hanging (the pre-fix importer ran for minutes on these inputs)."""

    def stop(*_: object) -> None:
        pytest.fail(f"spec_from_code still running after {DEADLINE} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(DEADLINE)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _refused(source: str) -> SpecError:
    """The SpecError for ``source``, which must come within ``BOUND`` seconds."""
    assert len(source) <= MAX_CODE_CHARS, len(source)
    with _deadline():
        start = time.perf_counter()
        with pytest.raises(SpecError) as info:
            spec_from_code(source, [4])
        seconds = time.perf_counter() - start
    assert seconds < BOUND, f"{seconds:.2f} s"
    return info.value


def _net(init: str = "", methods: str = "", forward: str = "", module: str = "") -> str:
    """A one-layer net with lines added to ``__init__``, the class, ``forward`` and the module."""
    return (
        HEAD
        + "class Net(nn.Module):\n"
        + "    def __init__(self):\n"
        + "        super().__init__()\n"
        + "        self.fc = nn.Linear(4, 2)\n"
        + init
        + "\n"
        + methods
        + "\n    def forward(self, x):\n"
        + forward
        + "        return self.fc(x)\n\n\n"
        + module
    )


def _doubling(n: int, call_twice: str = "self._h{next}()\n        self._h{next}()\n") -> str:
    """``__init__`` calls ``_h0``; each ``_h{i}`` calls ``_h{i+1}`` twice; the last inits a bias."""
    methods = []
    for i in range(n):
        body = "nn.init.zeros_(self.fc.bias)\n" if i == n - 1 else call_twice.format(next=i + 1)
        methods.append(f"    def _h{i}(self):\n        {body}\n")
    return _net(init="        self._h0()\n", methods="".join(methods))


# --- (1) init helpers are followed once, and the total is capped --------------------------------


@pytest.mark.parametrize("n", [23, 40])
def test_helpers_that_call_the_next_twice_are_refused_in_milliseconds(n):
    source = _doubling(n)
    assert len(source) < 3_000  # ~1.5 KB of code that would inline 2**(n-1) init calls
    error = _refused(source)
    assert f"more than {MAX_INIT_WORK:,} steps" in str(error)
    assert str(error).startswith("line ") and "too large to read" in str(error)
    tracemalloc.start()
    try:
        with pytest.raises(SpecError):
            spec_from_code(source, [4])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"{peak / 1e6:.0f} MB"  # before the fix: ~350 MB at n=23


def _ifs(indent: int, count: int = 150) -> str:
    """A walk body of ``count`` tests, each initializing a bias (~2,000 syntax nodes)."""
    pad = " " * indent
    test = f"{pad}if isinstance(m, nn.Linear):\n{pad}    nn.init.zeros_(m.bias)\n"
    return test * count


EXPANDING = [
    # the helper chain with loops (not read: a statement, refused once, never iterated)
    (
        "range_loops",
        _doubling(40, "for _ in range(2):\n            self._h{next}()\n"),
        "line 13: cannot read 'for _ in range(2)",
    ),
    (
        "huge_range",
        _net(init="        for i in range(10**9):\n            self._h()\n"),
        "line 10: cannot read 'for i in",
    ),
    (
        "range_in_helper",
        _net(
            init="        self._h()\n",
            methods="    def _h(self):\n        for i in range(10**9):\n"
            "            nn.init.zeros_(self.fc.bias)\n",
        ),
        "line 13: cannot read 'for i in range(10**9)",
    ),
    (
        "range_in_forward",
        _net(forward="        for i in range(10**9):\n            x = F.relu(x)\n"),
        "line 13: cannot read 'for i in range(10**9)",
    ),
    (
        "range_outside",
        _net(module="net = Net()\nfor i in range(10**9):\n    net.initialize_weights()\n"),
        "line 17: cannot read 'for i in range(10**9)",
    ),
    # helpers defined inside helpers
    (
        "nested_helpers",
        _net(
            init="        self._h0()\n",
            methods="    def _h0(self):\n"
            + "".join("    " * (i + 2) + f"def _h{i + 1}(self):\n" for i in range(80))
            + "    " * 82
            + "pass\n",
        ),
        "line 13: cannot read 'def _h1(self): def _h2(self):",
    ),
    # the same walk run again and again
    (
        "apply_again_and_again",
        _net(
            init="        self.apply(self._init)\n" * 50,
            methods="    def _init(self, m):\n" + _ifs(8),
        ),
        "too large to read",
    ),
    (
        "walk_called_again_and_again",
        _net(
            init="        self._walk()\n" * 50,
            methods="    def _walk(self):\n        for m in self.modules():\n" + _ifs(12),
        ),
        "too large to read",
    ),
    (
        "function_applied_again_and_again",
        "def init(m):\n" + _ifs(4) + _net(module="net = Net()\n" + "net.apply(init)\n" * 50),
        "too large to read",
    ),
    (
        "uncalled_methods_sharing_one",
        _net(
            methods="    def _b(self):\n"
            + "        nn.init.zeros_(self.fc.bias)\n" * 30
            + "".join(f"    def _u{i}(self):\n        self._b()\n" for i in range(1000)),
        ),
        "too large to read",
    ),
    # a cycle through methods that call the next twice: 2**500 paths before the fix
    (
        "cycle_of_doubling_helpers",
        _net(
            init="        self._h0()\n",
            methods="".join(
                f"    def _h{i}(self):\n        self._h{(i + 1) % 500}()\n"
                f"        self._h{(i + 1) % 500}()\n"
                for i in range(500)
            ),
        ),
        "calls itself in a cycle",
    ),
]


@pytest.mark.parametrize(
    ("source", "fragment"), [pytest.param(s, f, id=i) for i, s, f in EXPANDING]
)
def test_code_that_would_run_again_and_again_is_refused_in_milliseconds(source, fragment):
    error = _refused(source)
    assert fragment in str(error)


def _run_in_torch(source: str, tmp_path) -> torch.nn.Module:
    """The class as torch builds it: the test's own source, run from a temp dir."""
    path = tmp_path / "net.py"
    path.write_text(source, encoding="utf-8")
    namespace = runpy.run_path(str(path))
    torch.manual_seed(0)
    return namespace["Net"]()


HELPERS = textwrap.dedent(
    """
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 3)
            self.fc2 = nn.Linear(3, 2)
            self._top()

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

        def _top(self):
            self._left()
            self._right()
            self.apply(self._walk)

        def _left(self):
            self._shared()
            nn.init.constant_(self.fc1.bias, 0.25)

        def _right(self):
            self._shared()
            nn.init.ones_(self.fc2.weight)

        def _shared(self):
            nn.init.constant_(self.fc1.bias, 0.5)
            nn.init.constant_(self.fc1.weight, 0.75)

        def _walk(self, m):
            if m is self.fc2:
                nn.init.constant_(m.bias, -1.5)
    """
)


@pytest.mark.parametrize(
    "source",
    [HEAD + HELPERS, _doubling(6)],
    ids=["diamond_of_helpers", "helpers_calling_the_next_twice"],
)
def test_helper_recipes_within_the_cap_import_as_torch_runs_them(source, tmp_path):
    """Each method is followed once and reused: the weights are those of the class run."""
    with _deadline():
        spec = spec_from_code(source, [4])
    net = _run_in_torch(source, tmp_path)
    expected, got = net.state_dict(), build_model(spec).state_dict()
    assert list(got) == list(expected)
    for key in expected:
        assert torch.equal(got[key], expected[key]), key


def test_the_largest_recipe_the_reader_follows_is_within_the_cap():
    """Generated code for 60 layers that each set their own init (the most ``elif`` arms the
    reader follows): one walk of ~2,200 syntax nodes imports with every layer's init."""
    layers = [
        {
            "type": "Linear",
            "name": f"fc{i}",
            "out_features": 4,
            "init": {
                "weight": {"scheme": "normal", "std": 0.1 + i / 1000},
                "bias": {"scheme": "constant", "val": i / 7},
            },
        }
        for i in range(60)
    ]
    spec = load_spec({"input_shape": [4], "layers": layers})
    with _deadline():
        back = spec_from_code(generate_code(spec), [4])
    assert [layer.init for layer in back.layers] == [layer.init for layer in spec.layers]


# --- (2) every problem costs the same, however long the file ------------------------------------


def _calls(where: str, text: str = "a()") -> tuple[str, int]:
    """A net with ``text`` lines in ``__init__`` or ``forward`` up to ~49 KB, and their count."""
    base = _net()
    count = (MAX_CODE_CHARS - 1_000 - len(base)) // (len(text) + 9)
    lines = f"        {text}\n" * count
    source = _net(init=lines) if where == "__init__" else _net(forward=lines)
    return source, count


@pytest.mark.parametrize("where", ["__init__", "forward"])
def test_49_kb_of_unreadable_lines_answers_at_once(where):
    source, count = _calls(where)
    assert len(source) > 48_000
    error = _refused(source)
    lines = str(error).splitlines()
    first = source.splitlines().index("        a()") + 1
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[0].startswith(f"line {first}: cannot read 'a()': ")
    assert lines[MAX_PROBLEMS - 1].startswith(f"line {first + MAX_PROBLEMS - 1}: ")
    assert lines[-1] == f"... and {count - MAX_PROBLEMS} more problems"


def _folded(source: str, node: ast.AST) -> str:
    """What the message quotes, by ast's own (slow) reading of the node's text."""
    text = " ".join((ast.get_source_segment(source, node) or "").split())
    return text if len(text) <= MAX_SNIPPET else text[: MAX_SNIPPET - 3] + "..."


def test_quoted_statements_are_the_text_ast_reads_with_any_line_end_or_alphabet():
    source = _net(
        forward="        ä(('ü€' +\r\n  'é'))\r        b(1); c('😀')\n"
        "        d(x, " + "1 + " * 30 + "1)\n"
    )
    statements = ast.parse(source).body[-1].body[-1].body[:4]
    assert len(statements) == 4 and all(isinstance(s, ast.Expr) for s in statements)
    message = str(_refused(source))
    for node in statements:
        assert f"line {node.lineno}: cannot read {_folded(source, node)!r}" in message


PATHOLOGICAL = [
    # one line of 11,000 statements, each re-splitting the source before the fix
    (
        "statements_on_one_line",
        _net(forward="        " + "a();" * 11_000 + "\n"),
        "line 13: cannot read 'a()'",
    ),
    ("wide_characters", _net(forward="        ä()\n" * 4_000), "... and 3980 more problems"),
    (
        "a_long_signature_with_bad_defaults",
        _net().replace(
            "def __init__(self):",
            "def __init__(self, "
            + ", ".join(f"p{i}=q" for i in range(2_000))
            + "\n" * 20_000
            + "):",
        ),
        "line 7: cannot read 'def __init__(self, p0=q, p1=q",
    ),
    (
        "many_classes",
        "".join(f"class B{i}(nn.Module):\n    def forward(s, x): return x\n" for i in range(700))
        + _net(),
        "and 693 more): say which with entry='Net'",
    ),
    (
        "long_attribute_chain",
        _net(forward="        x = self" + ".a" * 20_000 + "(x)\n"),
        "cannot be read",
    ),
    (
        "deep_subscripts",
        _net(forward="        x = self.fc(x" + "[0]" * 15_000 + ")\n"),
        "cannot be read",
    ),
    (
        "deep_arithmetic_outside",
        _net(module="net = Net()\nprint(" + "net+" * 10_000 + "net)\n"),
        "cannot be read",
    ),
    (
        "deep_calls_outside",
        _net(module="net = Net()\nprint(" + "len(" * 90 + "net" + ")" * 91 + "\n"),
        "nested too deeply",
    ),
    # one walk whose test has 1,500 terms: the init plan runs it for every layer
    (
        "a_test_of_1500_terms",
        _net(
            init="        for m in self.modules():\n            if "
            + " and ".join(["isinstance(m, nn.Linear)"] * 1_500)
            + ":\n                nn.init.zeros_(m.bias)\n"
        ),
        "too large to read",
    ),
    # constants that nest each other: 8**39 items shared, a hang before the fix
    (
        "nested_constants",
        "a0 = [1, 1, 1, 1, 1, 1, 1, 1]\n"
        + "".join(f"a{i} = [" + ", ".join([f"a{i - 1}"] * 8) + "]\n" for i in range(1, 40))
        + _net(
            init="        self.c = nn.Conv2d(3, 6, a39)\n"
            "        nn.init.normal_(self.fc.weight, a39)\n"
        ),
        "cannot read 'self.c = nn.Conv2d(3, 6, a39)'",
    ),
]


@pytest.mark.parametrize(
    ("source", "fragment"), [pytest.param(s, f, id=i) for i, s, f in PATHOLOGICAL]
)
def test_pathological_shapes_are_refused_in_milliseconds(source, fragment):
    error = _refused(source)
    assert fragment in str(error)


def test_usage_lines_outside_the_class_read_in_linear_time():
    """Thousands of names bound and used outside the class: each name is looked up once."""
    module = "net = Net()\n" + "".join(f"v{i} = print(net)\n" for i in range(1_500))
    module += "".join(f"print(v{i})\n" for i in range(1_500))
    source = _net(module=module)
    assert len(source) < MAX_CODE_CHARS
    with _deadline():
        start = time.perf_counter()
        spec = spec_from_code(source, [4])
        assert time.perf_counter() - start < BOUND
    assert [layer.name for layer in spec.layers] == ["fc"]
