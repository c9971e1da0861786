"""Ops watch the Prefect dashboard in a real browser: every case is there, with the step it waits
at and its deadline (the product card: "ops watch the Prefect dashboard: every case is visible,
with its current step and deadline"; PROCESSES.md P1).

Debian's Chromium (``apt-get install -y chromium``; tests/prepare.sh installs it) driven by Playwright
over its own executable, headless, with a fresh profile; no browser is downloaded.
"""

from __future__ import annotations

import shutil
import tempfile

import pytest

pytestmark = pytest.mark.prefect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser_page():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium"):
        pytest.fail("Chromium is not installed: apt-get install -y chromium (tests/prepare.sh does it as root)")
    with playwright_api.sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="kefu-chromium-") as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": 1400, "height": 1000})
        try:
            yield context.new_page()
        finally:
            context.close()


def test_dashboard_shows_each_waiting_case_with_its_step_and_deadline(kefu, browser_page):
    """The runs page lists the case's run by its case id, Suspended, tagged with the step it waits
    at and its due time; the run's page shows the form's description with the case and deadline."""
    case_id = kefu.open("网购的羽绒服拉链坏了，要求换货", "--kind", "complaint", "--severity", "general",
                        name="黄磊")
    run = kefu.wait_until_waiting(case_id, "judgement")
    due_tag = next(t for t in run.tags if t.startswith("due:"))
    ui = f"http://127.0.0.1:{kefu.port}"

    page = browser_page
    page.goto(f"{ui}/runs", wait_until="domcontentloaded")
    row = page.get_by_text(case_id).first
    row.wait_for(timeout=30_000)
    listing = page.inner_text("body")
    assert "Suspended" in listing
    assert "step:judgement" in listing
    assert due_tag in listing

    page.goto(f"{ui}/runs/flow-run/{run.id}", wait_until="domcontentloaded")
    page.get_by_text(case_id).first.wait_for(timeout=30_000)
    details = page.inner_text("body")
    assert "Suspended" in details
    assert "step:judgement" in details and due_tag in details


def _field(page, label: str):
    """The input of one property of the Resume form, found by its label (as a person finds it)."""
    return page.locator(".p-modal .schema-form-property").filter(
        has=page.locator(".schema-form-property__label", has_text=label))


def test_a_person_decides_in_the_dashboard_form_and_the_case_moves_on(kefu, browser_page):
    """P1 step 2 Judgement 投诉判定 from the dashboard: the Resume form shows the case, its customer
    and its deadline (bilingual), and what a person submits there is recorded in the case exactly as
    the CLI would record it (not upheld → tactful reply → closed)."""
    case_id = kefu.open("快递员态度不好，把包裹扔在门口", "--kind", "complaint", "--severity", "general",
                        name="孙倩")
    run = kefu.wait_until_waiting(case_id, "judgement")
    page = browser_page
    page.goto(f"http://127.0.0.1:{kefu.port}/runs/flow-run/{run.id}", wait_until="domcontentloaded")
    page.get_by_role("button", name="Resume").first.click()
    form = page.locator(".p-modal")
    form.get_by_text("Resume Flow Run").wait_for(timeout=30_000)
    description = form.locator("article.markdown-renderer").first.inner_text()
    assert case_id in description and "孙倩" in description and "138****8000" in description
    assert "期限 Due:" in description and "sla.yaml" in description

    _field(page, "By").locator("textarea").fill("li.na")
    _field(page, "Reason").locator("textarea").fill("包裹已签收，快递员按约定放门口，已电话解释")
    form.get_by_role("button", name="Submit").click()

    kefu.wait_until_waiting(case_id, None)
    state = kefu.state(case_id)
    judgement = state.decision("judgement")
    assert judgement["upheld"] is False and judgement["by"] == "li.na"
    assert judgement["reason"] == "包裹已签收，快递员按约定放门口，已电话解释"
    assert state.outcome == "not_upheld" and "not_upheld_reply" in state.notices
