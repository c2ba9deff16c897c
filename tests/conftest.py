"""Shared fixtures. Everything is real: the packaged embedding model, FAISS, bm25s, and (for tests
marked `llm`) one vLLM server started for the whole session."""

from __future__ import annotations

import os
import shutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path

import pytest
from helpers import ARTIFACTS, CHROMIUM, FRESH, NOTES, free_port

from rag import Assistant, Settings

# The tiers (`make test-fast` runs neither): a test is marked by the fixtures it uses, so a new one cannot
# land in the fast tier by forgetting a marker.
TIERS = {
    "llm": {"vllm_settings"},  # a real vLLM server
    "browser": {"browser", "page"},  # headless Chromium
    "integration": {"cli_env"},  # the `rag` console script in its own process
}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        for marker, fixtures in TIERS.items():
            if fixtures & set(getattr(item, "fixturenames", ())):
                item.add_marker(marker)


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory) -> Path:
    """The shipped notes, ingested once for the session."""
    index = tmp_path_factory.mktemp("shipped-index")
    Assistant(notes_dir=NOTES, index_dir=index).ingest()
    return index


@pytest.fixture
def shipped(shipped_index) -> Assistant:
    return Assistant(
        notes_dir=NOTES, index_dir=shipped_index, llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_autostart=False
    )


@pytest.fixture
def own_index(shipped_index, tmp_path) -> Path:
    """A copy of the shipped index of this test's own, with no history or interview sessions yet."""
    shutil.copytree(shipped_index, tmp_path / "index", ignore=FRESH)
    return tmp_path / "index"


@pytest.fixture
def notes_dir(tmp_path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    return folder


@pytest.fixture
def make_assistant(notes_dir, tmp_path):
    """An assistant over a private notes folder and index; the LLM endpoint points at nothing."""

    def make(**overrides) -> Assistant:
        settings = dict(
            notes_dir=notes_dir,
            index_dir=tmp_path / "index",
            llm_base_url=f"http://127.0.0.1:{free_port()}/v1",
            llm_autostart=False,
        )
        settings.update(overrides)
        return Assistant(**settings)

    return make


@pytest.fixture
def cli_env(tmp_path):
    # a dead LLM endpoint and no autostart: these tests are about the CLI, not the model
    return {
        "RAG_CACHE_DIR": str(tmp_path / "cache"),
        "RAG_LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
        "RAG_LLM_AUTOSTART": "false",
    }


@pytest.fixture(scope="session")
def vllm_settings(shipped_index) -> Settings:
    """One real vLLM server on loopback for the whole session (about a minute to start on 2 cores),
    started the way `rag ask` does it when nothing answers: the autostart path.

    The model folder is prepared in the normal cache so later sessions reuse it; the server runs on
    its own port with its own state file, so a user's server is never touched.
    """
    from rag.llm import vllm_server as server

    port = free_port()
    settings = Settings(server_port=port, llm_base_url=f"http://127.0.0.1:{port}/v1", llm_autostart=True)
    assistant = Assistant(notes_dir=NOTES, index_dir=shipped_index, settings=settings)
    notice = assistant.ensure_llm()
    assert notice and "started the local vLLM server" in notice
    assert assistant.ensure_llm() is None  # it stays up for the next question
    try:
        yield settings.model_copy(update={"llm_autostart": False})
    finally:
        server.stop(settings)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        flags = [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ]
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh browser page on the app the test module serves at `app_url`."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(app_url)
    page.wait_for_selector("#question textarea")
    yield page
    context.close()


@pytest.fixture
def coach(shipped_index, tmp_path) -> Assistant:
    """The shipped index, with sessions and Leitner boxes of its own (tests must not share a history)."""
    return Assistant(
        notes_dir=NOTES,
        index_dir=shipped_index,
        interview_dir=tmp_path / "interview",
        llm_base_url=f"http://127.0.0.1:{free_port()}/v1",
        llm_autostart=False,
    )
