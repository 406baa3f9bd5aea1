"""Two replicas, one PostgreSQL (issue 17): a short link made on one replica opens on the other.

A real PostgreSQL 15 cluster (tests/postgres.py), two ``streamlit run`` replicas pointed at it
through ``NETBUILDER_DATABASE_URL`` (as deploy/compose.yaml and deploy/kubernetes.yaml do), and
Chromium: the Short link button on replica A puts ``?s=<id>`` in the address bar; the same
``?s=<id>`` on replica B opens the design.
"""

from __future__ import annotations

import re
import shutil
from urllib.parse import parse_qs, urlparse

import pytest

import builder
from builder.presets import preset
from builder.share import encode_design
from tests import postgres
from tests.server import streamlit_replicas
from tests.test_browser import CHROMIUM, FLAGS

pytestmark = pytest.mark.skipif(
    not (postgres.available() and shutil.which(CHROMIUM)), reason="PostgreSQL or Chromium missing"
)


def test_a_short_link_made_on_one_replica_opens_on_the_other(monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    design = preset("ResNet-20 (CIFAR)")
    expected = builder.analyze(design).total_params
    with postgres.cluster() as url:
        monkeypatch.setenv("NETBUILDER_DATABASE_URL", url)  # the replicas inherit it
        with streamlit_replicas(2) as (first, second), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{first.url}/?d={encode_design(design)}")
            page.locator(".st-key-short_link").get_by_role("button", name="Short link").click()
            page.wait_for_url(re.compile(r".*[?&]s="), timeout=30_000)
            key = parse_qs(urlparse(page.url).query)["s"][0]
            assert re.fullmatch(r"[A-Za-z0-9_-]{1,12}", key)
            other = browser.new_page(viewport={"width": 1280, "height": 800})
            other.goto(f"{second.url}/?s={key}")
            metric = other.locator('[data-testid="stMetric"]').first
            expect(metric).to_contain_text(f"{expected:,}", timeout=30_000)
            expect(other.get_by_text("ResNet20").first).to_be_visible()
            assert parse_qs(urlparse(other.url).query).get("s") == [key]
            browser.close()
