"""`rag ui` as a user starts it, in a real headless Chromium: a note edited while the app runs is found by the
library tab's search without pressing Ingest, and in an Obsidian vault the cards open the note in Obsidian."""

import os
import queue
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from helpers import RAG, free_port, write

pytestmark = pytest.mark.integration  # processes of their own

DROPOUT = "# Dropout\nDropout randomly zeroes activations during training.\n"
KERNELS = "# Kernels\nA kernel computes an inner product in a feature space without mapping into it.\n"
OKAPI = "# Dropout\nThe okapi schedule anneals the dropout rate by one quokka per epoch.\n"


@pytest.fixture
def vault(tmp_path) -> Path:
    notes = tmp_path / "Study Vault"
    write(notes, "ml/dropout.md", DROPOUT)
    write(notes, "kernels.md", KERNELS)
    write(notes, ".obsidian/app.json", "{}")
    return notes


@pytest.fixture
def rag_ui(vault, tmp_path):
    """`rag ui` in its own process, watching by default; its stdout lines arrive on a queue."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "RAG_CACHE_DIR": str(tmp_path / "cache"),
        "RAG_LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
        "RAG_LLM_AUTOSTART": "false",
        # questions do not update the index themselves here: only the watcher can bring an edit in
        "RAG_AUTO_INGEST": "false",
    }
    proc = subprocess.Popen(
        [RAG, "ui", "--port", str(port), "--notes", str(vault)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.rstrip()) for line in proc.stdout], daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    assert proc.poll() is None, "rag ui exited"
    yield url, lines
    proc.terminate()
    proc.wait(30)


def next_line(lines: queue.Queue, containing: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        if containing in line:
            return line


def test_a_note_edited_while_the_ui_runs_is_found_by_search_and_links_into_obsidian(rag_ui, vault, browser, artifacts):
    url, lines = rag_ui
    assert "watching" in next_line(lines, "notes-rag UI on")
    assert "(+2 new" in next_line(lines, "index updated")  # the watcher's catch-up built the first index
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url)
    page.get_by_role("tab", name="Library").click()

    write(vault, "ml/dropout.md", OKAPI)
    assert "1 changed" in next_line(lines, "index updated", timeout=60)  # one line per re-ingest
    page.fill("#lib-search textarea", "okapi schedule quokka")
    page.locator("#lib-search textarea").press("Enter")
    page.wait_for_selector("#lib-results .hit-card")
    first = page.locator("#lib-results .hit-card").first
    assert "okapi schedule anneals" in first.inner_text()
    link = first.locator("a.note-link")
    assert link.inner_text() == "ml/dropout.md:1"
    assert link.get_attribute("href") == "obsidian://open?vault=Study%20Vault&file=ml%2Fdropout"
    page.screenshot(path=str(artifacts / "ui-sync-library.png"), full_page=True)

    # the chat's source cards (the LLM is down here: the best passages and their cards)
    page.get_by_role("tab", name="Chat").click()
    page.fill("#question textarea", "What is a kernel?")
    page.click("#ask")
    page.wait_for_selector("#sources .source-card a.note-link", timeout=60_000)
    hrefs = [a.get_attribute("href") for a in page.locator("#sources a.note-link").all()]
    assert "obsidian://open?vault=Study%20Vault&file=kernels" in hrefs
    page.screenshot(path=str(artifacts / "ui-sync-sources.png"), full_page=True)
    page.close()
