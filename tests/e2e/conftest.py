"""Browser tests: a real scheduler and API server, driven by Debian's Chromium via Playwright.

Chromium comes from the system (``/usr/bin/chromium``), never from ``playwright install``.
If it is missing, the set-up installs it with apt-get when it can (root); otherwise the tests
skip with the reason — except under ``CI=true``, where they fail.

Screenshots of the main pages go to ``$GNOMON_SCREENSHOTS`` (a directory; CI keeps it as an
artifact) or a temporary directory. Refresh the ones the docs show with
``GNOMON_SCREENSHOTS=docs/screenshots pytest tests/e2e``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gnomon.api import ApiServer, serve_in_background
from gnomon.scheduler import Scheduler

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


def _ensure_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        _unavailable(f"{CHROMIUM} is missing and cannot be installed here (apt-get as root)")
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(command, capture_output=True, timeout=600, check=False)
        if done.returncode != 0:
            _unavailable(f"{' '.join(command)} failed: {done.stderr.decode()[-300:]}")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one test module: Playwright's sync API keeps an event loop running on
    this thread while it is open, which would break later tests that call asyncio.run()."""
    _ensure_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright (the Python package) is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("GNOMON_SCREENSHOTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[Scheduler]:
    # A short lease: heartbeats every second, so a cancelled run stops within a second.
    with Scheduler(str(tmp_path / "e2e.db"), workers=4, poll=0.2, lease=3) as s:
        s.start()
        yield s


@pytest.fixture
def server(scheduler: Scheduler) -> Iterator[ApiServer]:
    running = serve_in_background(scheduler, "127.0.0.1", 0, rate_limit=None)
    running.server.config.app.state.gnomon.event_poll = 0.1
    yield running
    running.stop()


@pytest.fixture
def page(browser: object, server: ApiServer) -> Iterator[object]:
    context = browser.new_context(
        viewport={"width": 1360, "height": 900},  # type: ignore[attr-defined]
        base_url=server.url.rstrip("/"),
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
