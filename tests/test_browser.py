"""Real-browser test: Playwright driving Debian's Chromium against `streamlit run`.

Skipped (not failed) where Chromium or Playwright is absent; `.ci/run` installs both.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.server import streamlit_server

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = ROOT / "tests" / "screenshots" / "lenet_1280x800.png"

playwright_api = pytest.importorskip("playwright.sync_api")
if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with streamlit_server(tmp_path_factory.mktemp("streamlit") / "server.log") as running:
        yield running.url


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _settled(page) -> None:
    app = page.locator('[data-testid="stApp"]')
    playwright_api.expect(app).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=30_000
    )


def _key(key: str) -> str:
    return ".st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key)


def test_build_lenet_from_empty_by_clicking(server, browser):
    expect = playwright_api.expect
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server)
    expect(page.get_by_text("62,006").first).to_be_visible(timeout=60_000)
    _settled(page)

    # start from the empty preset
    preset = page.locator(_key("preset_choice")).locator("input")
    preset.fill("empty")
    preset.press("Enter")
    page.locator(_key("load_preset")).get_by_role("button").click()
    expect(page.get_by_text("The stack is empty")).to_be_visible()
    _settled(page)

    stack = [  # (type, fields to set, output shape the layer must then show)
        ("Conv2d", {"out_channels": 6, "kernel_size:h": 5, "kernel_size:w": 5}, (6, 28, 28)),
        ("ReLU", {}, (6, 28, 28)),
        ("MaxPool2d", {}, (6, 14, 14)),
        ("Conv2d", {"out_channels": 16, "kernel_size:h": 5, "kernel_size:w": 5}, (16, 10, 10)),
        ("ReLU", {}, (16, 10, 10)),
        ("MaxPool2d", {}, (16, 5, 5)),
        ("Flatten", {}, (400,)),
        ("Linear", {"out_features": 120}, (120,)),
        ("ReLU", {}, (120,)),
        ("Linear", {"out_features": 84}, (84,)),
        ("ReLU", {}, (84,)),
        ("Linear", {"out_features": 10}, (10,)),
    ]
    uid = 12  # the LeNet took uids 0..11; the empty preset adds none
    cards = page.locator('[class*="st-key-layer_card_"]')
    for count, (layer_type, fields, shape) in enumerate(stack, start=1):
        page.get_by_role("button", name="Add a layer").click()  # opens the palette in view
        page.locator(_key(f"add:{layer_type}")).get_by_role("button").click()
        page.keyboard.press("Escape")  # close the palette again
        expect(cards).to_have_count(count)
        expect(cards.nth(count - 1)).to_contain_text(f"{layer_type} →")
        _settled(page)
        for field, value in fields.items():
            box = page.locator(_key(f"w:{uid}:{field}")).locator("input")
            box.fill(str(value))
            box.press("Enter")
            expect(box).to_have_value(str(value))
            _settled(page)
        shown = "(" + ",\u00a0".join(str(n) for n in shape) + ")"
        expect(page.locator(_key(f"head:{uid}"))).to_contain_text(f"→ {shown}")
        uid += 1

    table = page.locator('[data-testid="stTable"]')
    before_flatten = table.locator("tr").filter(
        has=page.get_by_role("cell", name="pool2", exact=True)
    )
    expect(before_flatten).to_contain_text("(16,\u00a05,\u00a05)")
    expect(page.locator('[data-testid="stMetric"]').first).to_contain_text("62,006")

    page.get_by_role("tab", name="Histograms").click()
    expect(page.locator(_key("hist_chart")).locator(".main-svg").first).to_be_visible(
        timeout=60_000
    )
    _settled(page)
    page.get_by_role("tab", name="Code").click()
    expect(
        page.locator('[data-testid="stCode"]').filter(has_text="class Net(nn.Module)")
    ).to_be_visible()
    expect(page.get_by_text("self.conv1 = nn.Conv2d(3, 6, 5)").first).to_be_visible()
    _settled(page)
    page.get_by_role("tab", name="Initialization").click()
    _settled(page)
    page.evaluate(
        "for (const el of document.querySelectorAll('*')) { if (el.scrollTop > 0) el.scrollTop = 0; }"
    )
    expect(page.locator('[data-testid="stMetric"]').first).to_be_in_viewport()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert not errors, errors
    page.close()


def test_classroom_walkthrough(server, browser):
    """One-click fix, import from code, an assignment link and training, on the article's LeNet."""
    from builder.assignment import encode_assignment, load_assignment
    from builder.presets import preset
    from builder.share import encode_design

    expect = playwright_api.expect
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server)
    expect(page.get_by_text("62,006").first).to_be_visible(timeout=60_000)
    _settled(page)

    # one-click fix: delete the Flatten, then let the app put it back
    page.locator(_key("head:6")).get_by_role("button").click()
    page.locator(_key("del:6")).get_by_role("button").click()
    fix = page.locator(_key("apply_fix")).get_by_role("button")
    expect(fix).to_contain_text("add a Flatten")
    fix.click()
    expect(page.locator(_key("apply_fix"))).to_have_count(0)
    expect(page.locator('[data-testid="stMetric"]').first).to_contain_text("62,006")
    _settled(page)

    # import from code: the article's class text
    source = (ROOT / "tests" / "fixtures" / "article_net.txt").read_text(encoding="utf-8")
    page.get_by_text("Import PyTorch code").click()
    box = page.locator(_key("import_code")).locator("textarea")
    box.fill(source)
    box.press("Control+Enter")
    _settled(page)
    page.locator(_key("import_go")).get_by_role("button").click()
    expect(page.get_by_text("Imported").first).to_be_visible()
    expect(page.locator('[data-testid="stMetric"]').first).to_contain_text("62,006")
    _settled(page)

    # training: three epochs on the digits
    page.get_by_role("tab", name="Train").click()
    _settled(page)
    page.locator(_key("train_go")).get_by_role("button").click()
    expect(page.get_by_text(re.compile(r"held-out accuracy after 3 epoch"))).to_be_visible(
        timeout=90_000
    )
    summary = page.get_by_text(re.compile(r"held-out accuracy after 3 epoch")).first.inner_text()
    accuracy = float(re.search(r"([\d.]+)% held-out", summary).group(1))
    assert accuracy > 90, summary

    # an assignment link: live checks in a fresh session
    assignment = load_assignment({"title": "Lab 1", "max_params": 60_000, "output_shape": [10]})
    link = f"{server}/?a={encode_assignment(assignment)}&d={encode_design(preset())}"
    page.goto(link)
    panel = page.locator(_key("assignment_panel"))
    expect(panel).to_contain_text("Lab 1")
    expect(panel).to_contain_text("62,006 of 60,000")
    page.locator(_key("head:7")).get_by_role("button").click()
    out = page.locator(_key("w:7:out_features")).locator("input")
    out.fill("100")
    out.press("Enter")
    expect(panel).to_contain_text("all constraints met")
    assert not errors, errors
    page.close()
