"""The Gradio app in a real headless Chromium (Debian's), driven by Playwright, against a real index
and the session's real vLLM server."""

import shutil

import pytest
from helpers import NOTES, free_port, start_interview, write

from rag import Assistant, UnsafeBinding
from ui.app import App, launch, login
from ui.uploads import UploadRefused, safe_name

# a plain-text note keeps every character verbatim: what the browser gets is exactly this
HOSTILE = """ZEBRA CALIBRATION

Zebra calibration of flamingo sensors <script>window.__pwned = 1</script> is done twice a year.
<img src="x" onerror="window.__pwned = 2"> The flamingo sensor drift is measured in parts per zebra.
"""


@pytest.fixture(scope="module")
def app_url(shipped_index, vllm_settings, tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    notes = root / "notes"
    shutil.copytree(NOTES, notes)
    write(notes, "hostile-note.txt", HOSTILE)
    index = root / "index"
    shutil.copytree(shipped_index, index)
    # short answers: the chat and load tests are about the app, not about how much the model writes
    assistant = Assistant(
        notes_dir=notes, index_dir=index, settings=vllm_settings, interview_dir=root / "interview", llm_max_tokens=48
    )
    assert assistant.ingest().added == 1  # only the new note is embedded
    port = free_port()
    demo = launch(assistant, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}"
    demo.close()


def test_chat_streams_an_answer_with_source_cards(page, artifacts):
    page.fill("#question textarea", "What does batch normalization do?")
    page.click("#ask")
    page.wait_for_selector("#sources .source-card", timeout=120_000)
    cards = page.locator("#sources .source-card")
    # the sections only retrieved are folded: their text is in the page, not on the screen
    assert cards.count() >= 1 and "ml-fundamentals.md" in page.locator("#sources").text_content()
    reply = page.locator("#chat .message").last.inner_text()
    assert len(reply.split()) >= 5
    page.locator("#sources .passage details").first.click()  # the whole passage opens under the card
    assert (
        len(page.locator("#sources .passage details .whole").first.inner_text())
        > len(page.locator("#sources .excerpt").first.inner_text()) * 0.5
    )
    page.screenshot(path=str(artifacts / "ui-chat.png"), full_page=True)


def test_two_question_interview(page, artifacts):
    start_interview(page, "reinforcement", 2)
    assert "Question 1 of 2" in page.inner_text("#iv-progress")
    first = page.inner_text("#iv-question h3")
    page.fill(
        "#iv-answer textarea",
        "The agent takes actions in states and receives rewards; the policy maps states to actions.",
    )
    page.click("#iv-submit")
    page.wait_for_selector("#iv-feedback .score-line")
    # the question is drawn at random: an answer that misses its points earns one follow-up before question 2
    if "A follow-up to question 1 of 2" in page.inner_text("#iv-progress"):
        page.fill("#iv-answer textarea", "I don't know")
        page.click("#iv-submit")
        page.wait_for_function("() => document.querySelectorAll('#iv-feedback .score-line').length === 2")
    assert "Question 2 of 2" in page.inner_text("#iv-progress") and page.inner_text("#iv-question h3") != first
    assert "Model answer" in page.inner_text("#iv-feedback")
    page.fill("#iv-answer textarea", "I don't know")
    page.click("#iv-submit")
    page.wait_for_selector("#iv-summary h3")
    assert "Score 0.0/10" in page.inner_text("#iv-feedback") and "Session summary" in page.inner_text("#iv-summary")
    # the transcript file arrives in its own update, just after the summary
    page.wait_for_selector("#iv-download", state="visible", timeout=30_000)
    page.screenshot(path=str(artifacts / "ui-interview.png"), full_page=True)


def test_upload_a_note_and_find_it_by_search(page, tmp_path, artifacts):
    page.get_by_role("tab", name="Library").click()
    note = write(
        tmp_path,
        "okapi-notes.md",
        "# Okapi gradient\nThe okapi gradient is a made-up optimiser that steps twice per quokka.\n",
    )
    page.locator("#lib-upload input[type=file]").set_input_files(str(note))
    page.wait_for_selector("#lib-result:has-text('Saved okapi-notes.md')", timeout=60_000)
    assert "okapi-notes.md" in page.inner_text("#lib-result")
    page.fill("#lib-search textarea", "okapi gradient quokka")
    page.locator("#lib-search textarea").press("Enter")
    page.wait_for_selector("#lib-results .hit-card")
    assert "okapi-notes.md" in page.locator("#lib-results .hit-card").first.inner_text()
    page.screenshot(path=str(artifacts / "ui-library.png"), full_page=True)


def test_a_note_with_a_script_tag_shows_as_text_and_never_runs(page, artifacts):
    page.get_by_role("tab", name="Library").click()
    page.fill("#lib-search textarea", "zebra calibration of flamingo sensors")
    page.locator("#lib-search textarea").press("Enter")
    page.wait_for_selector("#lib-results .hit-card")
    shown = page.inner_text("#lib-results")
    assert "<script>window.__pwned = 1</script>" in shown and 'onerror="window.__pwned = 2"' in shown
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#lib-results img").count() == 0
    page.screenshot(path=str(artifacts / "ui-hostile.png"), full_page=True)


def test_llm_down_gives_passages_and_a_visible_notice(shipped_index):
    dead = Assistant(
        notes_dir=NOTES, index_dir=shipped_index, llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_autostart=False
    )
    *_, (chat, cards, notice) = App(dead).respond("What is dropout?", [], 3, "", 0.0)
    assert "LLM is unavailable" in notice and "source-card" in cards
    assert chat[-1]["role"] == "assistant" and "[1]" in chat[-1]["content"]


def test_chat_without_an_index_says_where_to_build_it(tmp_path):
    empty = Assistant(notes_dir=NOTES, index_dir=tmp_path / "none", llm_autostart=False, auto_ingest=False)
    *_, (chat, cards, notice) = App(empty).respond("What is dropout?", [], 3, "", 0.0)
    assert "no index yet" in notice and "Ingest" in notice and cards == ""


def test_evaluation_tab_runs_and_plots_and_leaves_no_folder_behind(shipped_index):
    import glob
    import tempfile

    left = lambda: set(glob.glob(f"{tempfile.gettempdir()}/notes-rag-eval-*"))
    before = left()
    app = App(Assistant(notes_dir=NOTES, index_dir=shipped_index))
    rows, plot, message = app.evaluate("", ["bm25", "hybrid"], "dev", progress=lambda *a, **k: None)
    assert [r[0] for r in rows] == ["bm25", "hybrid"] and all(0 <= r[2] <= 1 for r in rows)
    assert plot.size[0] > 300 and "questions (dev)" in message
    assert left() == before


def test_evaluation_tab_reads_question_sets_only_from_the_datasets_and_the_notes(shipped_index, tmp_path):
    from eval.dataset import DEFAULT_DATASET

    notes = tmp_path / "notes"
    notes.mkdir()
    mine = write(notes, "sets/mine.jsonl", "".join(DEFAULT_DATASET.read_text().splitlines(keepends=True)[:5]))
    outside = write(tmp_path, "outside.jsonl", mine.read_text())
    app = App(Assistant(notes_dir=notes, index_dir=shipped_index))
    assert app.question_set("") is None
    assert app.question_set("notes_qa.jsonl") == DEFAULT_DATASET.resolve()
    assert app.question_set("sets/mine.jsonl") == app.question_set(str(mine)) == mine.resolve()
    for path in ["/etc/passwd", str(outside), "../outside.jsonl", "sets/../../outside.jsonl", "/etc/hostname.jsonl"]:
        with pytest.raises(ValueError, match="not a question set here"):
            app.question_set(path)
    rows, plot, message = app.evaluate("/etc/passwd", ["bm25"], "all", progress=lambda *a, **k: None)
    assert rows == [] and plot is None and "not a question set here" in message
    (notes / "link.jsonl").symlink_to(outside)  # a symlink out of the notes folder is not a way around it
    with pytest.raises(ValueError):
        app.question_set("link.jsonl")


def test_chat_endpoint_is_only_editable_for_a_local_or_logged_in_user(shipped):
    locked = App(shipped)
    assert locked.assistant_for("http://169.254.169.254/latest", 0.0) is shipped  # a URL sent anyway is ignored
    assert (
        App(shipped, endpoint_editable=True).assistant_for("http://127.0.0.1:9/v1", 0.0).settings.llm_base_url
        == "http://127.0.0.1:9/v1"
    )


@pytest.mark.parametrize(
    "name",
    [
        "../evil.md",
        "/etc/passwd.md",
        "a/b.md",
        "..\\x.md",
        "C:evil.md",
        "nul\x00.md",
        ".hidden.md",
        "run.sh",
        "..",
        "x" * 300 + ".md",
    ],
)
def test_upload_names_that_could_escape_are_refused(name):
    with pytest.raises(UploadRefused):
        safe_name(name)


def test_binding_off_loopback_requires_a_login():
    assert login("127.0.0.1", None) is None
    with pytest.raises(UnsafeBinding, match="without a login"):
        login("0.0.0.0", None)
    assert login("0.0.0.0", "me:secret") == ("me", "secret")
    with pytest.raises(UnsafeBinding):
        login("0.0.0.0", "nopassword")


def test_32_concurrent_questions_through_the_ui_endpoint_all_come_back(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    jobs = [client.submit(f"What is dropout? ({n})", [], 1, "", 0.0, api_name="/respond") for n in range(32)]
    results = [job.result(timeout=600) for job in jobs]
    assert len(results) == 32
    text = lambda message: "".join(part["text"] for part in message["content"] if part.get("type") == "text")
    for n, (chat, cards, notice, *_) in enumerate(results):  # then the question box and Ask
        assert text(chat[0]) == f"What is dropout? ({n})"  # each session kept its own conversation
        assert chat[-1]["role"] == "assistant" and text(chat[-1]).strip() and "source-card" in cards
        assert "unavailable" not in notice and "stopped early" not in notice
