"""The local stack as a newcomer runs it: `afterglow local` in its own process, driven over HTTP."""

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from playwright.sync_api import Browser, sync_playwright

from afterglow_dev.local.load import local_stack_process
from tests.e2e.browser import CHROMIUM, launch_chromium


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Start `afterglow local` on free ports; yields the environment it wrote to its env file."""
    with ExitStack() as stack:
        try:
            env = stack.enter_context(local_stack_process(tmp_path_factory.mktemp("stack")))
        except RuntimeError as error:
            pytest.fail(str(error))
        yield env


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium for one test module (Playwright is stopped after it: its sync API
    keeps an event loop running that other modules' in-process handlers must not see)."""
    if not CHROMIUM.exists():
        pytest.skip(f"real-browser tests need {CHROMIUM}: `apt-get install -y chromium` (make e2e does it)")
    playwright = sync_playwright().start()
    try:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
