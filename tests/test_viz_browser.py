"""End to end: ``citysim viz`` serves the explorer, headless Chromium steps and plays it.

Uses Debian's Chromium (``/usr/bin/chromium``) through Playwright's Python client; no browser is
downloaded. Without a browser the test is skipped, unless ``CITYSIM_REQUIRE_BROWSER=1`` (CI sets
it), where a missing browser fails. The last screenshot is kept in ``results/browser/``.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "explorer.toml"
SCREENSHOTS = REPO / "results" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Chromium as root in a container, with no network beyond localhost.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STEP_S = 10
STATUS = re.compile(r"simulated time (\d+) s .* (\d+) vehicles drawn")


def _browser_or_skip():
    required = os.environ.get("CITYSIM_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("playwright is not installed")
    if not Path(CHROMIUM).exists():
        if required:
            pytest.fail(f"CITYSIM_REQUIRE_BROWSER=1 but there is no Chromium at {CHROMIUM}")
        pytest.skip("no Chromium (Debian package chromium)")
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, server: subprocess.Popen, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.poll() is None, f"citysim viz exited with {server.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"citysim viz did not listen on port {port} within {timeout_s:.0f} s")


@pytest.fixture
def explorer_url():
    port = _free_port()
    command = [sys.executable, "-m", "sim", "viz", str(SCENARIO), "--no-browser", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--step-s", str(STEP_S)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_for_port(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _status(page) -> tuple[int, int]:
    text = page.locator(".citysim-status").inner_text()
    match = STATUS.search(text)
    assert match, text
    return int(match[1]), int(match[2])


def _still(page, quiet_s: float) -> bool:
    """Whether the simulated time stays the same for ``quiet_s`` seconds (a step in flight may finish)."""
    first = _status(page)[0]
    time.sleep(quiet_s)
    return _status(page)[0] == first


def _wait_until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f} s waiting for {what}"
        time.sleep(0.25)


def test_step_and_play_advance_the_city_in_headless_chromium(explorer_url):
    sync_playwright = _browser_or_skip()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(explorer_url)
            page.locator(".citysim-status").wait_for(timeout=90_000)
            assert _status(page) == (0, 0)
            city_map = page.locator("img").first
            before = city_map.screenshot()

            page.get_by_role("button", name="Step").click()
            _wait_until(lambda: _status(page)[0] == STEP_S, 30, "one step")

            page.get_by_role("button", name="▶").click()
            _wait_until(lambda: _status(page)[0] >= 6 * STEP_S, 60, "six steps of play")
            page.get_by_role("button", name="❚❚").click()
            _wait_until(lambda: _still(page, 3.0), 30, "the model to stop after pause")
            paused_at, vehicles = _status(page)
            assert paused_at >= 6 * STEP_S

            assert vehicles > 0
            assert city_map.screenshot() != before, "the map did not change"
            page.screenshot(path=str(SCREENSHOTS / "explorer.png"), full_page=True)
        finally:
            browser.close()
