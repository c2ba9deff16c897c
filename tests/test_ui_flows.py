"""The browser app through several steps in a real headless Chromium, with the scripted fake LLM:
what is under test here is the app (conversations, rendering, the library, uploads), not the model."""

import shutil

import pytest
from fake_llm import FakeLLM
from helpers import NOTES, free_port, start_interview

from rag import Assistant
from ui.app import launch

# Markdown and LaTeX as a real model writes them: the chat must render both, not show the markup
REPLY = (
    r"Batch normalization **normalises** each layer's inputs [1]: $\hat{x} = \frac{x - \mu}{\sigma}$, then "
    r"$$y = \gamma \hat{x} + \beta$$ so training is faster [2]."
)


@pytest.fixture(scope="module")
def fake_llm():
    with FakeLLM(REPLY) as fake:
        yield fake


@pytest.fixture(scope="module")
def ui_root(shipped_index, tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-flows")
    shutil.copytree(NOTES, root / "notes")
    shutil.copytree(shipped_index, root / "index")
    return root


@pytest.fixture(scope="module")
def assistant(ui_root, fake_llm):
    return Assistant(
        notes_dir=ui_root / "notes",
        index_dir=ui_root / "index",
        interview_dir=ui_root / "interview",
        llm_base_url=fake_llm.base_url,
        llm_autostart=False,
    )


@pytest.fixture(scope="module")
def app_url(assistant):
    port = free_port()
    demo = launch(assistant, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}"
    demo.close()


def ask(page, question: str, turn: int) -> str:
    """Ask in the browser and wait for the whole answer (Ask is off until it has been checked)."""
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function(
        f"() => document.querySelectorAll('#chat [data-testid=bot]').length === {turn} "
        "&& !document.querySelector('#ask').disabled",
        timeout=60_000,
    )
    bots = page.locator("#chat [data-testid=bot]")
    assert bots.count() == turn, page.inner_text("#chat")
    return bots.last.inner_text()


def test_a_three_turn_conversation_with_a_follow_up(page, fake_llm, artifacts):
    fake_llm.requests.clear()
    assert ask(page, "What does batch normalization do?", 1).strip()
    # one card per section, listing its passages' numbers, under the legend of [n] and (n)
    where = page.locator("#sources .source-card .where").all_inner_texts()
    assert len(where) == len(set(where)) and page.locator("#sources .passage").count() > len(where)
    assert "[n] cited in the answer · (n) retrieved, not cited" in page.inner_text("#sources")
    # the follow-up only makes sense after the first question: retrieval and the prompt both need it
    assert ask(page, "Why does it help?", 2).strip() and "Error" not in page.inner_text("#chat")
    assert "Batch Normalization" in page.inner_text("#sources")
    history = [m["content"] for m in fake_llm.requests[-1]["messages"][1:-1]]
    assert history[0] == "What does batch normalization do?" and history[1].strip()
    assert ask(page, "And what is dropout?", 3).strip() and "dropout" in page.inner_text("#sources").lower()
    assert [m["content"] for m in fake_llm.requests[-1]["messages"]][3] == "Why does it help?"
    assert page.locator("#chat [data-testid=user]").count() == 3 and "Error" not in page.inner_text("#chat")
    page.screenshot(path=str(artifacts / "ui-conversation.png"), full_page=True)


def test_chat_renders_markdown_and_formulas(page, artifacts):
    ask(page, r"Why divide by $\sqrt{d_k}$ in **scaled** attention, as in $$\frac{QK^T}{\sqrt{d_k}}$$?", 1)
    question = page.locator("#chat [data-testid=user]").last
    assert question.locator(".katex").count() == 2 and question.locator("strong").count() == 1
    assert "\\sqrt" not in question.inner_text() and "**" not in question.inner_text()
    page.screenshot(path=str(artifacts / "ui-chat-rendered.png"), full_page=True)


def test_library_statistics_are_read_when_the_tab_opens(page, ui_root):
    # an ingest from outside the app (`rag ingest`, another browser tab) after the app started
    (ui_root / "notes" / "later-note.md").write_text(
        "# Later\nA note the command line ingested after the app had started.\n"
    )
    outside = Assistant(notes_dir=ui_root / "notes", index_dir=ui_root / "index")
    assert outside.ingest().added == 1
    info = outside.status()
    page.get_by_role("tab", name="Library").click()
    page.wait_for_selector(f"#lib-status:has-text('{info['files']} files, {info['chunks']} chunks')")
    assert "later-note.md" in page.inner_text("body")


def test_uploads_refuse_paths_and_oversized_notes_with_one_clear_message(page, ui_root, artifacts):
    (ui_root / "notes" / "unrelated.md").write_bytes(b"\x00\x01 not a note")  # a problem elsewhere in the folder
    page.get_by_role("tab", name="Library").click()
    upload = page.locator("#lib-upload input[type=file]")
    note = lambda name, data: {"name": name, "mimeType": "text/markdown", "buffer": data}
    upload.set_input_files(
        files=[
            note("okapi.md", b"# Okapi\nThe okapi gradient steps twice per quokka.\n"),
            note("scan.md", b"\x00\x01 binary"),
        ]
    )
    page.wait_for_selector("#lib-result:has-text('Saved okapi.md')", timeout=60_000)
    result = page.inner_text("#lib-result")
    # only what happened to the uploaded files, each said once: the binary one refused before it was saved
    assert "unrelated.md" not in result and result.count("scan.md") == 1 and "'scan.md': binary data" in result
    assert not (ui_root / "notes" / "scan.md").exists()

    upload.set_input_files(files=[note("../evil.md", b"# Evil\nWritten beside the notes folder.\n")])
    page.wait_for_selector("#lib-result:has-text('evil.md')", timeout=30_000)  # the last result said "Refused" too
    result = page.inner_text("#lib-result")
    assert "'../evil.md': a path, not a file name" in result and "Saved" not in result
    assert not (ui_root / "notes" / "evil.md").exists() and not (ui_root / "evil.md").exists()

    upload.set_input_files(files=[note("huge.md", b"a" * 30_000_000)])
    page.wait_for_selector("#lib-result:has-text('huge.md')", timeout=60_000)
    shown = page.inner_text("body")
    assert shown.count("over the 20 MB limit") == 1 and "'huge.md': 30.0 MB" in shown and "Mb" not in shown
    assert "evil.md" not in page.inner_text("#lib-result")  # the previous result is replaced
    assert not (ui_root / "notes" / "huge.md").exists()
    page.screenshot(path=str(artifacts / "ui-upload-refused.png"), full_page=True)


def test_search_hits_render_markdown_and_formulas_as_text_never_as_markup(page, artifacts):
    page.get_by_role("tab", name="Library").click()
    page.fill("#lib-search textarea", "softmax attention formula scaling by the square root of the key dimension")
    page.locator("#lib-search textarea").press("Enter")
    page.wait_for_selector("#lib-results .hit-card")
    shown = page.inner_text("#lib-results")
    assert page.locator("#lib-results math").count() >= 1 and page.locator("#lib-results strong").count() >= 1
    assert "$$" not in shown and "\\frac" not in shown and "**" not in shown
    page.screenshot(path=str(artifacts / "ui-search-rendered.png"), full_page=True)


def test_the_library_search_button_beside_the_box_searches_as_enter_does(page, artifacts):
    page.get_by_role("tab", name="Library").click()
    box, button = page.locator("#lib-search"), page.get_by_role("button", name="Search", exact=True)
    assert button.count() == 1 and button.is_visible()
    # right of the box it searches, on its line and as tall as it
    b, s = button.bounding_box(), box.bounding_box()
    assert b["x"] >= s["x"] + s["width"] and abs(b["y"] - s["y"]) <= 2 and abs(b["height"] - s["height"]) <= 2
    hits = lambda: page.locator("#lib-results .hit-card .where").all_inner_texts()
    page.fill("#lib-search textarea", "discounted sum of future rewards")
    page.locator("#lib-search textarea").press("Enter")
    page.wait_for_selector("#lib-results .hit-card")
    by_enter = hits()
    page.fill("#lib-search textarea", "dropout regularization")
    button.click()  # the box's new query, searched by the button alone
    shows = "([first, shown]) => document.querySelector('#lib-results').innerText.includes(first) === shown"
    page.wait_for_function(shows, arg=[by_enter[0], False])
    assert "dropout" in page.inner_text("#lib-results").lower()
    page.fill("#lib-search textarea", "discounted sum of future rewards")
    button.click()
    page.wait_for_function(shows, arg=[by_enter[0], True])
    assert hits() == by_enter  # the same hits, in the same order, as Enter gave
    page.screenshot(path=str(artifacts / "ui-library-search-button.png"), full_page=True)


def test_submit_is_off_once_the_interview_has_ended(page, artifacts):
    page.get_by_role("tab", name="Interview").click()
    assert page.locator("#iv-submit").is_disabled()  # nothing to answer before a session starts
    start_interview(page, "dropout", 1, timeout=60_000)
    assert page.locator("#iv-submit").is_enabled()
    page.fill(
        "#iv-answer textarea",
        "Dropout randomly switches off neurons during training so the network cannot rely on any one of them.",
    )
    page.click("#iv-submit")
    # a missed key point earns one follow-up question (issue #21), answered here with "I don't know"
    page.wait_for_selector("#iv-summary h3, #iv-progress:has-text('A follow-up')", timeout=60_000)
    if "A follow-up" in page.inner_text("#iv-progress"):
        assert page.locator("#iv-submit").is_enabled() and not page.locator("#iv-summary h3").count()
        page.fill("#iv-answer textarea", "I don't know")
        page.click("#iv-submit")
    page.wait_for_selector("#iv-summary h3", timeout=60_000)
    page.wait_for_function("() => document.querySelector('#iv-submit').disabled", timeout=10_000)
    assert "The session has ended" in page.inner_text("#iv-progress")
    page.screenshot(path=str(artifacts / "ui-interview-ended.png"), full_page=True)


def test_the_endpoint_setting_says_why_it_is_editable(page):
    page.get_by_text("Settings").click()
    page.wait_for_selector("text=editable only on loopback or behind a login")
    assert page.get_by_label("model endpoint (OpenAI-compatible)").is_editable()
