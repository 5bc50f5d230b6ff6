"""Skip-or-fail for the tests that need Graphviz or a browser.

They skip, saying what is missing, on a machine without them; with COMPGRAPH_REQUIRE_VIZ=1
or COMPGRAPH_REQUIRE_BROWSER=1 (set by a CI that installed them) they fail instead, so a
broken install cannot pass as skipped.  Nothing is installed from here.
"""
import os
import shutil
import tempfile

import pytest


def skip_or_fail(env, reason):
    if os.environ.get(env) == "1":
        pytest.fail(f"{reason}; {env}=1 says it must be there")
    pytest.skip(reason)


@pytest.fixture
def viz():
    """Rendering to SVG/PNG is possible (graphviz package and the `dot` program)."""
    from compgraph.viz import graphviz_available
    ok, why = graphviz_available()
    if not ok:
        skip_or_fail("COMPGRAPH_REQUIRE_VIZ", why)


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture
def browser():
    """A headless Chromium driven by Selenium, with a throwaway profile."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        skip_or_fail("COMPGRAPH_REQUIRE_BROWSER", "selenium is not installed (pip install selenium)")
    binary, driver_path = _chromium(), shutil.which("chromedriver")
    if not binary or not driver_path:
        skip_or_fail("COMPGRAPH_REQUIRE_BROWSER",
                     "chromium and chromedriver are not installed "
                     "(apt-get install chromium chromium-driver)")
    profile = tempfile.mkdtemp(prefix="compgraph-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--window-size=1400,1000", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # an explicit driver path: Selenium Manager must not try to download one
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
