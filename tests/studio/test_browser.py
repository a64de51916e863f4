"""The Studio in a real browser: Debian's Chromium driven by Playwright (never a browser
Playwright downloads). Skipped with the reason when Chromium or Playwright is missing,
except under CI=true, where that fails. Screenshots of each page go to SCREENSHOTS."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atelier.services import runs
from tests.helpers.studio_data import NASTY
from tests.helpers.studio_runs import fake_endpoint, forget_endpoint, seed_sweep
from tests.studio.conftest import EXPERIMENT, RUNS, WORKSPACE, Studio

CHROMIUM = Path(os.environ.get("ATELIER_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(
    os.environ.get(
        "ATELIER_STUDIO_SCREENSHOTS", Path(tempfile.gettempdir()) / "atelier-studio-screenshots"
    )
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the browser tests (apt-get install chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module's tests."""
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def _signed_in(browser: Any, studio: Studio, who: str) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{studio.url}/")
    assert "/signin" in page.url
    page.fill("#token", studio.tokens[who])
    page.click("#signin-form button[type=submit]")
    page.wait_for_url(f"{studio.url}/")
    return page


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _painted_pixels(page: Any, selector: str) -> int:
    """How many pixels of the chart's canvas are drawn (not transparent)."""
    count: int = page.eval_on_selector(
        f"{selector} canvas",
        """canvas => {
            const box = canvas.getContext('2d');
            const data = box.getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
            return painted;
        }""",
    )
    return count


def test_sign_in_sort_by_a_metric_and_see_a_run_chart_drawn(browser: Any, studio: Studio) -> None:
    page = _signed_in(browser, studio, "owner")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _shot(page, "workspaces")
    page.click(f"#workspaces a:text-is('{WORKSPACE}')")
    page.click(f"#experiments a:text-is('{EXPERIMENT}')")
    page.evaluate("window.sameDocument = true")
    page.click("#runs th a[data-column='metrics.accuracy']")
    page.wait_for_url("**sort=metrics.accuracy**")
    assert page.evaluate("window.sameDocument === true")  # the table was swapped in place
    first = page.text_content("#runs tbody tr:first-child td:nth-child(3)")
    assert first is not None
    assert first.strip() == f"run-{RUNS - 1}"
    page.wait_for_selector("#runs-chart[data-drawn]")
    assert page.get_attribute("#runs-chart", "data-drawn") == str(RUNS)
    page.select_option("#runs-chart .kind", "bar")
    assert _painted_pixels(page, "#runs-chart") > 500
    page.wait_for_selector("#runs-parcoords[data-drawn]")
    assert page.get_attribute("#runs-parcoords", "data-drawn") == str(RUNS)
    assert _painted_pixels(page, "#runs-parcoords") > 500
    _shot(page, "experiment-sorted")

    page.goto(f"{studio.url}/workspaces/{WORKSPACE}/runs/{studio.rich_run}")
    page.wait_for_selector("figure.chart[data-drawn]")
    assert page.get_attribute("figure.chart", "data-drawn") == "20000"
    assert _painted_pixels(page, "figure.chart") > 500
    title = page.text_content("#run-title")
    assert title is not None
    assert NASTY in title
    assert not dialogs  # the <script> in the name never ran
    _shot(page, "run")
    page.close()


def test_compare_two_runs_draws_their_charts_overlaid(browser: Any, studio: Studio) -> None:
    page = _signed_in(browser, studio, "reader")
    page.goto(f"{studio.url}/workspaces/{WORKSPACE}/experiments/{EXPERIMENT}")
    boxes = page.locator("#runs input[name=runs]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#compare-form button[type=submit]")
    page.wait_for_selector("figure.chart.overlay[data-drawn]")
    assert page.locator("#compare-table thead th").count() == 3
    assert _painted_pixels(page, "figure.chart.overlay") > 500
    _shot(page, "compare")
    page.close()


def test_an_mlflow_view_run_link_lands_on_the_run_page(browser: Any, studio: Studio) -> None:
    with studio.database.session() as session:
        record = runs.get(session, WORKSPACE, studio.rich_run)
    link = f"/#/experiments/{record.experiment_id}/runs/{record.run_id}"
    target = f"{studio.url}/workspaces/{WORKSPACE}/runs/{record.run_id}"
    page = _signed_in(browser, studio, "reader")
    page.goto(f"{studio.url}/mlflow/{WORKSPACE}{link}")
    page.wait_for_url(target)
    page.close()
    context = browser.new_context()  # signed out: through the sign-in page, then on
    fresh = context.new_page()
    fresh.goto(f"{studio.url}{link}")
    fresh.fill("#token", studio.tokens["reader"])
    fresh.click("#signin-form button[type=submit]")
    fresh.wait_for_url(target)
    context.close()


def test_a_reader_finds_no_delete_button_and_forged_or_csrf_less_posts_get_403(
    browser: Any, studio: Studio
) -> None:
    run_page = f"{studio.url}/workspaces/{WORKSPACE}/runs/{studio.rich_run}"
    forge = """async ([url, csrf]) => {
        const body = new FormData();
        body.append('key', 'model');
        if (csrf) body.append('csrf', csrf);
        return (await fetch(url, {method: 'POST', body})).status;
    }"""
    reader = _signed_in(browser, studio, "reader")
    reader.goto(run_page)
    assert reader.locator(".delete-tag").count() == 0
    assert reader.locator("#cancel-run").count() == 0
    csrf = reader.get_attribute("form.inline input[name=csrf]", "value")
    assert reader.evaluate(forge, [f"{run_page}/tags/delete", csrf]) == 403
    _shot(reader, "run-as-reader")
    reader.close()
    owner = _signed_in(browser, studio, "owner")
    owner.goto(run_page)
    assert owner.locator(".delete-tag").count() >= 1
    assert owner.evaluate(forge, [f"{run_page}/tags/delete", None]) == 403
    owner.goto(run_page)
    assert owner.locator("#tag-table th:text-is('model')").count() == 1
    owner.close()


def test_a_sweeps_parallel_coordinates_draw_and_an_endpoint_answers_the_test_box(
    browser: Any, studio: Studio
) -> None:
    sweep, trials = seed_sweep(studio)
    page = _signed_in(browser, studio, "contributor")
    page.goto(f"{studio.url}/workspaces/{WORKSPACE}/sweeps/{sweep}")
    page.wait_for_selector("#sweep-parcoords[data-drawn]")
    assert page.get_attribute("#sweep-parcoords", "data-drawn") == str(len(trials))
    assert _painted_pixels(page, "#sweep-parcoords") > 500
    _shot(page, "sweep")
    with fake_endpoint(studio, "echo-browser"):
        page.goto(f"{studio.url}/workspaces/{WORKSPACE}/endpoints/echo-browser")
        page.fill("#test-body", '{"data": [4, 5]}')
        page.click("#test-send")
        page.wait_for_selector("#test-form[data-answered]")
        answer = page.text_content("#test-answer")
        _shot(page, "endpoint")
    forget_endpoint(studio, "echo-browser")
    assert answer is not None and '"doubled"' in answer and "10" in answer
    assert (page.text_content("#test-status") or "").startswith("HTTP 200 in ")
    page.close()
