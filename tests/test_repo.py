"""Project-wide rules: lint clean, builder free of streamlit and eval/exec, pinned set-up."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_and_format():
    check = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout


def test_builder_never_imports_streamlit():
    code = "import sys, builder, builder.figures, builder.export, builder.share, builder.edits; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


PRODUCT = [
    *sorted((ROOT / "builder").rglob("*.py")),
    *sorted((ROOT / "ui").rglob("*.py")),
    ROOT / "streamlit_app.py",
]


def _imports(path: Path) -> set[str]:
    """Every module a file imports (absolute names; relative ones resolved inside its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_layering_rules():
    """builder never imports streamlit or ui; ui (and the frame) never import torch; tabs never
    import each other."""
    for path in PRODUCT:
        names = _imports(path)
        top = {n.split(".")[0] for n in names}
        if path.is_relative_to(ROOT / "builder"):
            assert not top & {"streamlit", "ui"}, path
        else:
            assert "torch" not in top, path
        if path.is_relative_to(ROOT / "ui" / "tabs") and path.name != "__init__.py":
            tabs = {p.stem for p in (ROOT / "ui" / "tabs").glob("*.py")} - {"__init__"}
            others = {f"ui.tabs.{t}" for t in tabs - {path.stem}}
            assert not names & others, f"{path.name} imports another tab: {names & others}"


def test_no_eval_or_exec_anywhere_in_product_code():
    for path in PRODUCT:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"eval", "exec", "compile", "__import__"}, path


def test_setup_files():
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert "torch==2.13.0" in requirements
    assert "streamlit==1.67.*" in requirements
    readme = (ROOT / "README.md").read_text().splitlines()
    commands = [line for line in readme[:8] if line.startswith("python -m pip install")]
    assert len(commands) == 2
    assert "streamlit run streamlit_app.py" in commands[0]
    assert commands[1].split("#")[0].strip() in (ROOT / ".ci" / "run").read_text()


def test_no_oversized_file_class_or_function_in_product_code():
    """The house rules: a file over 800 lines, a class over 400 or a function over 100 is a
    sign that two jobs share one place (tests/ and bench/ are exempt)."""
    too_big = []
    for path in PRODUCT:
        source = path.read_text(encoding="utf-8")
        if source.count("\n") > 800:
            too_big.append(f"{path.relative_to(ROOT)}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            limit = {ast.ClassDef: 400, ast.FunctionDef: 100, ast.AsyncFunctionDef: 100}.get(
                type(node)
            )
            if limit and node.end_lineno - node.lineno + 1 > limit:
                size = node.end_lineno - node.lineno + 1
                too_big.append(f"{path.relative_to(ROOT)}: {node.name} is {size} lines")
    assert not too_big, too_big
