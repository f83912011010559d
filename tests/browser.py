"""Load a local HTML page in real headless Chromium (Debian's, driven by Playwright) and report what went wrong."""

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MEDIA_TIMEOUT_MS = 15_000

# For each <audio>: ready (metadata loaded), its error code, whether no source could be used, duration, source URL.
AUDIO_STATE = """[...document.querySelectorAll('audio')].map(a => ({
    src: a.currentSrc || (a.querySelector('source') || {}).src || a.src, ready: a.readyState,
    error: a.error && a.error.code, noSource: a.networkState === HTMLMediaElement.NETWORK_NO_SOURCE,
    duration: a.duration}))"""
AUDIO_SETTLED = """[...document.querySelectorAll('audio')].every(a => a.readyState >= HTMLMediaElement.HAVE_METADATA
    || a.error || a.networkState === HTMLMediaElement.NETWORK_NO_SOURCE)"""
IMAGE_STATE = """[...document.images].map(i => ({src: i.currentSrc || i.src, complete: i.complete,
    width: i.naturalWidth}))"""


@dataclass
class PageCheck:
    """What a browser saw when loading a page."""

    title: str
    errors: list[str] = field(default_factory=list)  # console errors, page errors, failed requests
    images: list[dict] = field(default_factory=list)
    audio: list[dict] = field(default_factory=list)

    @property
    def broken_images(self) -> list[str]:
        """Images that did not load."""
        return [i["src"] for i in self.images if not (i["complete"] and i["width"] > 0)]

    @property
    def broken_audio(self) -> list[str]:
        """Audio elements whose source did not load (at least its metadata)."""
        return [a["src"] for a in self.audio if a["ready"] < 1 or a["error"] or a["noSource"]]


def require_browser():
    """Skip the calling test, saying what is missing, unless Playwright and Chromium are installed."""
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")


def check_page(html: Path, screenshot: Path | None = None, width: int = 1280) -> PageCheck:
    """Open ``html`` from ``file://``, wait for every image and every audio source, and report; optionally save a
    full-page screenshot."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            errors = []
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} ({r.failure})"))
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.wait_for_function(AUDIO_SETTLED, timeout=MEDIA_TIMEOUT_MS)
            result = PageCheck(title=page.title(), errors=errors, images=page.evaluate(IMAGE_STATE),
                               audio=page.evaluate(AUDIO_STATE))
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
            return result
        finally:
            browser.close()
