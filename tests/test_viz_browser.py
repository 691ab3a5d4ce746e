"""End to end: ``citysim viz`` serves the explorer, headless Chromium steps and plays it.

Uses Debian's Chromium (``/usr/bin/chromium``) through Playwright's Python client; no browser is
downloaded. At a 1280x800 window the map spans at least half the page; two browser sessions
run two models; grid10 and Helsinki are drawn at city scale. The same page is also opened
inside JupyterLab. Without a browser (or JupyterLab) the tests are skipped, unless
``CITYSIM_REQUIRE_BROWSER=1`` (CI sets it), where they fail. The last screenshots are kept in
``results/browser/`` (``docs/images/explorer*.png`` are copies of them).
"""

import contextlib
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
SCENARIO = SCENARIOS / "explorer.toml"
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
STATUS = re.compile(r"simulated time (\d\d):(\d\d):(\d\d) · (\d+) vehicles on the network")
VIEWPORT = {"width": 1280, "height": 800}


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


def _wait_for_port(port: int, server: subprocess.Popen, log: Path, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.poll() is None, f"server exited with {server.returncode}:\n{log.read_text()[-3000:]}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"server did not listen on port {port} within {timeout_s:.0f} s")


@contextlib.contextmanager
def _serving(command: list[str], port: int, log: Path, **popen):
    """Run a server until the block ends; its output goes to ``log``."""
    with log.open("w") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, **popen)
        try:
            _wait_for_port(port, server, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def _explorer(scenario: Path, step_s: int, log: Path):
    """``citysim viz`` serving ``scenario`` until the block ends."""
    port = _free_port()
    command = [sys.executable, "-m", "sim", "viz", str(scenario), "--no-browser", "--port", str(port)]
    return _serving([*command, "--step-s", str(step_s)], port, log)


@pytest.fixture
def explorer_url(tmp_path):
    with _explorer(SCENARIO, STEP_S, tmp_path / "viz.log") as url:
        yield url


@pytest.fixture
def jupyterlab_url(tmp_path):
    """JupyterLab serving a folder with one notebook whose only cell shows the explorer."""
    if importlib.util.find_spec("jupyterlab") is None:
        if os.environ.get("CITYSIM_REQUIRE_BROWSER") == "1":
            pytest.fail("CITYSIM_REQUIRE_BROWSER=1 but JupyterLab is not installed")
        pytest.skip("JupyterLab is not installed (the notebooks extra)")
    source = f"from sim.viz import explorer\nexplorer({str(SCENARIO)!r}, step_s={STEP_S})"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder = tmp_path / "lab"
    folder.mkdir()
    nbformat.write(notebook, folder / "explorer.ipynb")
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        f"--port={port}",
        "--ServerApp.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={folder}",
    ]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    with _serving(command, port, tmp_path / "lab.log", env=env) as url:
        yield f"{url}/lab/tree/explorer.ipynb"


def _status(page) -> tuple[int, int]:
    """Simulated time (s) and vehicles on the network, read from the line under the map."""
    text = page.locator(".citysim-status").inner_text()
    match = STATUS.search(text)
    assert match, text
    hours, minutes, seconds, vehicles = (int(group) for group in match.groups())
    return 3600 * hours + 60 * minutes + seconds, vehicles


def _open(browser, url: str):
    """A page of its own browser context (its own Solara session) at 1280x800, once the map shows."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.goto(url)
    page.locator(".citysim-status").wait_for(timeout=90_000)
    return page


def _step(page, times: int = 1) -> None:
    for _ in range(times):
        before = _status(page)[0]
        page.get_by_role("button", name="Step").click()
        _wait_until(lambda before=before: _status(page)[0] > before, 60, "one step")


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


@contextlib.contextmanager
def _browser():
    """Headless Chromium (skips or fails as the module docstring says)."""
    sync_playwright = _browser_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def _page():
    """A page of headless Chromium at 1280x800."""
    with _browser() as browser:
        yield browser.new_page(viewport=VIEWPORT)


def test_step_and_play_advance_the_city_in_headless_chromium(explorer_url):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with _browser() as browser:
        page = _open(browser, explorer_url)
        assert _status(page) == (0, 0)
        assert page.locator(".citysim-clock").inner_text() == "00:00:00"
        city_map = page.locator(".citysim-map")
        box = city_map.bounding_box()
        assert box["width"] >= VIEWPORT["width"] / 2, f"the map is {box['width']:.0f} px wide"
        assert box["y"] + box["height"] <= VIEWPORT["height"], "the map runs below the window"
        before = city_map.screenshot()

        page.get_by_role("button", name="Step").click()
        _wait_until(lambda: _status(page)[0] == STEP_S, 30, "one step")
        assert page.locator(".citysim-clock").inner_text() == f"00:00:{STEP_S:02d}"
        assert page.get_by_text(f"step: {STEP_S} simulated s").count() == 1

        page.get_by_role("button", name="▶").click()
        _wait_until(lambda: _status(page)[0] >= 6 * STEP_S, 60, "six steps of play")
        page.get_by_role("button", name="❚❚").click()
        _wait_until(lambda: _still(page, 3.0), 30, "the model to stop after pause")
        paused_at, vehicles = _status(page)
        assert paused_at >= 6 * STEP_S

        assert vehicles > 0
        assert city_map.screenshot() != before, "the map did not change"
        page.screenshot(path=str(SCREENSHOTS / "explorer.png"))


def test_each_browser_session_runs_its_own_model(explorer_url):
    with _browser() as browser:
        first, second = _open(browser, explorer_url), _open(browser, explorer_url)
        _step(first, 2)
        assert _status(first)[0] == 2 * STEP_S
        assert _still(second, 1.0) and _status(second) == (0, 0)
        _step(second)
        latecomer = _open(browser, explorer_url)
        assert _status(latecomer) == (0, 0)
        assert (_status(first)[0], _status(second)[0]) == (2 * STEP_S, STEP_S)


@pytest.mark.parametrize(("scenario", "steps"), [("grid10", 6), ("helsinki", 5)])
def test_a_city_fits_the_window_at_city_scale(tmp_path, scenario, steps):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with _explorer(SCENARIOS / f"{scenario}.toml", 60, tmp_path / "viz.log") as url, _browser() as browser:
        page = _open(browser, url)
        _step(page, steps)
        assert _status(page)[1] > 50
        box = page.locator(".citysim-map").bounding_box()
        assert box["y"] + box["height"] <= VIEWPORT["height"], "the map runs below the window"
        page.screenshot(path=str(SCREENSHOTS / f"explorer_{scenario}.png"))


def test_the_explorer_runs_inside_jupyterlab(jupyterlab_url):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with _page() as page:
        page.goto(jupyterlab_url)
        cell = page.locator(".jp-CodeCell").first
        cell.wait_for(timeout=90_000)
        # JupyterLab may ask which kernel to start; the notebook's own (python3) is preselected.
        choose = page.get_by_role("button", name="Select", exact=True)
        with contextlib.suppress(PlaywrightTimeout):
            choose.wait_for(timeout=10_000)
            choose.click()
        cell.click()
        page.keyboard.press("Shift+Enter")
        page.locator(".citysim-status").wait_for(timeout=90_000)
        assert _status(page) == (0, 0)
        # In a notebook, the controls sit in a drawer opened from the page's title bar.
        page.locator(".v-app-bar .v-btn").first.click()
        page.get_by_role("button", name="Step").click()
        _wait_until(lambda: _status(page)[0] == STEP_S, 60, "one step")
        page.screenshot(path=str(SCREENSHOTS / "explorer_jupyterlab.png"))
