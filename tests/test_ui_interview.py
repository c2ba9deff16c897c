"""A whole mock interview in the browser (headless Chromium), last answer included, and the chat's "Check
my answer". No LLM: questions are phrased from templates and graded by the real embedding model."""

import re
import shutil
import tempfile

import pytest
from helpers import NOTES, free_port, start_interview

from rag import UNSURE, Assistant
from ui.app import App, launch
from ui.note_html import inline_html


@pytest.fixture(scope="module", autouse=True)
def system_temp(tmp_path_factory):
    """Sessions are kept in the cache folder, which Gradio does not serve; only the system temp folder
    (and the working directory) are. Under pytest both would be in /tmp: here the system temp folder is
    one of its own, apart from the sessions, as on a user's machine."""
    before = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("system-temp"))
    yield
    tempfile.tempdir = before


@pytest.fixture(scope="module")
def ui_root(shipped_index, tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-interview")
    shutil.copytree(NOTES, root / "notes")
    shutil.copytree(shipped_index, root / "index")
    return root


@pytest.fixture(scope="module")
def assistant(ui_root):
    return Assistant(
        notes_dir=ui_root / "notes",
        index_dir=ui_root / "index",
        interview_dir=ui_root / "interview",
        llm_base_url=f"http://127.0.0.1:{free_port()}/v1",
        llm_autostart=False,
    )


@pytest.fixture(scope="module")
def app_url(assistant):
    port = free_port()
    demo = launch(assistant, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}"
    demo.close()


def waiting_question(assistant, ui_root):
    """The question the browser shows, read from the session the app saved (to answer it knowingly)."""
    newest = max((ui_root / "interview" / "sessions").glob("*.json"), key=lambda p: p.stat().st_mtime)
    session = assistant.interview(resume=newest.stem)
    return session, session.current.question


def no_error_badge(page) -> None:
    assert page.get_by_text("Error", exact=True).count() == 0, page.inner_text("body")[:2000]


def on_screen(page, selector: str) -> bool:
    """Whether the element is inside the viewport as it is now (nothing scrolled for it)."""
    return page.locator(selector).evaluate(
        "e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; }"
    )


def as_shown(page, html: str) -> str:
    """The text the browser shows for `html`: a formula drawn as MathML reads otherwise than its LaTeX."""
    return page.evaluate("html => Object.assign(document.createElement('div'), {innerHTML: html}).textContent", html)


def test_a_whole_session_with_the_summary_on_top_feedback_under_its_own_question_and_the_transcript(
    page, assistant, ui_root, artifacts
):
    page.get_by_role("tab", name="Interview").click()
    page.click("#iv-start")  # five questions, the default
    page.wait_for_selector("#iv-question h3", timeout=60_000)
    asked, marked = [], 0
    for answered in range(1, 15):
        session, q = waiting_question(assistant, ui_root)
        assert page.locator("#iv-question h3").text_content() == as_shown(page, f"{q.label}. {inline_html(q.text)}")
        # the note's own point for a follow-up; for a question, its first point only: right but partial
        answer = q.follow_up or session.concept_of(q).key_points[0]
        page.fill("#iv-answer textarea", answer)
        page.click("#iv-submit")
        page.wait_for_function(
            f"() => document.querySelectorAll('#iv-feedback .card.feedback').length === {answered}", timeout=60_000
        )
        newest = page.locator("#iv-feedback .card.feedback").first
        assert newest.locator(".fb-question").text_content() == as_shown(page, f"{q.label}: {inline_html(q.text)}")
        assert answer in newest.locator(".fb-answer").inner_text()
        line = newest.locator(".score-line").inner_text()
        score = float(re.search(r"Score ([\d.]+)/10", line).group(1))
        unsure = UNSURE[0] <= score <= UNSURE[1] and "(" not in line and not q.follow_up
        assert page.locator("#iv-marks").is_visible() == unsure, line
        if unsure:
            page.click("#iv-mark-hard")
            page.wait_for_selector("#iv-feedback .card.feedback >> nth=0 >> text=you marked it Hard", timeout=30_000)
            assert not page.locator("#iv-marks").is_visible()
            marked += 1
        asked.append(q)
        if page.locator("#iv-summary h3").count():
            break
    planned = [q for q in asked if not q.follow_up]
    assert [q.number for q in planned] == [1, 2, 3, 4, 5]
    assert "Session summary" in page.inner_text("#iv-summary") and "The session has ended" in page.inner_text(
        "#iv-progress"
    )
    no_error_badge(page)
    titles = page.locator("#iv-feedback .fb-question").all_text_contents()
    # the latest first, each with its question
    assert titles == [as_shown(page, f"{q.label}: {inline_html(q.text)}") for q in reversed(asked)]
    page.wait_for_selector("#iv-download", state="visible", timeout=30_000)
    # the end is shown where the question was, seen without scrolling: the summary, then the transcript,
    # above the answer box and the pages of feedback (under them it was off the screen)
    top = lambda selector: page.locator(selector).first.bounding_box()["y"]
    assert top("#iv-progress") < top("#iv-summary") < top("#iv-download") < top("#iv-answer") < top("#iv-feedback")
    assert on_screen(page, "#iv-summary h3") and on_screen(page, "#iv-download")
    assert page.locator("#iv-feedback .card.feedback").last.bounding_box()["y"] > page.viewport_size["height"]
    with page.expect_download() as download:
        page.click("#iv-download")
    transcript = open(download.value.path()).read()
    assert transcript.startswith("# Mock interview") and all(q.text in transcript for q in asked)
    assert transcript.count("you marked it Hard") == marked
    page.screenshot(path=str(artifacts / "ui-interview-session.png"), full_page=True)


def test_check_my_answer_in_the_chat(page, artifacts):
    opener = page.get_by_text("Check my answer to the last question")
    opener.click()
    page.fill("#chat-own-answer textarea", "It drops random neurons while training.")
    page.click("#chat-check-button")
    page.wait_for_selector("#chat-check-result:has-text('Ask a question first')", timeout=30_000)
    page.fill("#question textarea", "What does dropout do?")
    page.click("#ask")
    page.wait_for_function(
        "() => document.querySelectorAll('#chat [data-testid=bot]').length === 1 "
        "&& !document.querySelector('#ask').disabled",
        timeout=60_000,
    )
    page.click("#chat-check-button")
    page.wait_for_selector("#chat-check-result .score-line", timeout=60_000)
    result = page.locator("#chat-check-result")
    assert result.locator(".fb-question").inner_text() == "Your answer to: What does dropout do?"
    assert (
        "Graded against " in result.inner_text()
        and "dropout" in result.locator(".source-card").first.inner_text().lower()
    )
    no_error_badge(page)
    page.screenshot(path=str(artifacts / "ui-check-my-answer.png"), full_page=True)


# ---- the s8 user trial -------------------------------------------------------------------------------
def follow_up_on_mdp(page) -> None:
    """A one-question session on Markov decision processes, answered with the last of the section's three
    points: the follow-up asks for the first, whose sets are formulas ($\\{S_0, S_1, \\dots, S_7\\}$)."""
    start_interview(page, "Markov decision process", 1, timeout=60_000)
    assert "markov decision process" in page.inner_text("#iv-question h3").lower()
    page.fill("#iv-answer textarea", "MDPs are used to describe and study a large variety of problems.")
    page.click("#iv-submit")
    page.wait_for_selector("#iv-progress:has-text('A follow-up to question 1 of 1')", timeout=60_000)


def test_the_end_of_a_session_counts_its_questions_as_the_summary_does_and_its_follow_ups_apart(page):
    follow_up_on_mdp(page)
    page.fill("#iv-answer textarea", "I don't know.")
    page.click("#iv-submit")
    page.wait_for_selector("#iv-summary h3", timeout=60_000)
    # two answers, one question: the follow-up shares its number and counts in neither mean nor length
    assert page.locator("#iv-feedback .card.feedback").count() == 2
    assert "over 1 answers" in page.inner_text("#iv-summary")
    assert page.inner_text("#iv-progress").startswith("Done: 1 of 1 answered, and 1 follow-up.")


def test_the_notes_formulas_are_drawn_in_a_follow_up_its_feedback_and_the_progress_tab(page, artifacts):
    follow_up_on_mdp(page)
    drawn = lambda element: element.locator("math").count() == 2 and "$" not in element.inner_text()
    question = page.locator("#iv-question h3")
    assert question.inner_text().startswith("Q1 follow-up. Follow-up on") and drawn(question)
    page.locator("#iv-question").screenshot(path=str(artifacts / "ui-follow-up-formulas.png"))
    page.fill("#iv-answer textarea", "I don't know $S_0$.")
    page.click("#iv-submit")
    page.wait_for_selector("#iv-summary h3", timeout=60_000)
    heading = page.locator("#iv-feedback .fb-question").first
    assert heading.inner_text().startswith("Q1 follow-up: Follow-up on") and drawn(heading)
    typed = page.locator("#iv-feedback .fb-answer").first  # the candidate's words stay as typed
    assert "I don't know $S_0$." in typed.inner_text() and typed.locator("math").count() == 0

    page.get_by_role("tab", name="Progress").click()
    missed = page.locator("#progress-study h4:has-text('Missed or contradicted') + ul li", has_text="Composed of 4")
    missed.first.wait_for(timeout=60_000)
    assert drawn(missed.first)
    page.locator("#progress-study").screenshot(path=str(artifacts / "ui-progress-missed-formulas.png"))


def test_a_question_the_user_typed_heads_its_check_as_text(assistant):
    asked = [{"role": "user", "content": "Is <b>dropout</b> a $p$ thing?"}]
    card = App(assistant).check_answer(asked, "It drops units.")
    assert '"where fb-question">Your answer to: Is &lt;b&gt;dropout&lt;/b&gt; a $p$ thing?</div>' in card
