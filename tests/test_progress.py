"""Progress: mastery per topic, cards due, scores over time and the study list, from real sessions graded
by the real grader (template questions, no LLM); the CLI's plot; the Progress tab and history panel in
Chromium."""

import json
import shutil
from datetime import datetime, timedelta, timezone

import pytest
from helpers import FRESH, NOTES, free_port, rag

from rag import Assistant, plot_progress
from ui.app import launch

PNG = b"\x89PNG\r\n\x1a\n"
UNANSWERABLE = "What is the population of Lima in Peru?"


def make(index) -> Assistant:
    return Assistant(
        notes_dir=NOTES,
        index_dir=index,
        llm_base_url=f"http://127.0.0.1:{free_port()}/v1",
        llm_autostart=False,
        answer_mode="extractive",
    )


def practise(a: Assistant, sessions: int, wrong_first: bool = False) -> None:
    """`sessions` sessions of two questions: the note's own points as answers (the first answer of
    each session off topic when `wrong_first`), follow-ups answered with the point they ask about."""
    for n in range(sessions):
        s = a.interview(n=2, phrasing="template", seed=n)
        while (q := s.next_question()) is not None:
            if q.follow_up:
                s.answer(q.follow_up)
            elif wrong_first and q.number == 1:
                s.answer("Bananas are yellow and grow in tropical countries.")
            else:
                s.answer(" ".join(s.concept_of(q).key_points))


def test_three_sessions_give_mastery_a_study_list_and_a_plot(own_index, tmp_path, cli_env):
    a = make(own_index)
    practise(a, 3, wrong_first=True)
    a.ask(UNANSWERABLE)
    a.ask("What does dropout do?")
    p = a.progress()
    assert len(p.sessions) == 3 and all(s["answered"] == 2 for s in p.sessions)  # follow-ups not counted
    assert [s["time"] for s in p.sessions] == sorted(s["time"] for s in p.sessions)
    # each session's first answer was off topic: scored low, so its topic is weak and its points missed
    assert all(s["scores"][0] < 3 for s in p.sessions)
    assert p.weak_topics and all(t.weak for t in p.topics if t.topic in p.weak_topics)
    assert p.topics == sorted(p.topics, key=lambda t: (t.mastery, t.topic))  # weakest first
    assert all(0.0 <= t.mastery <= 1.0 and t.cards >= 1 for t in p.topics)
    assert p.missed_points and {m["how"] for m in p.missed_points} <= {"missed", "contradicted"}
    assert [u["question"] for u in p.unanswered] == [UNANSWERABLE]  # the history's abstention only
    drilled = {t.topic for t in p.topics}
    assert p.never_drilled and not drilled & set(p.never_drilled)
    assert p.concepts > p.drilled >= 2
    assert p.due_today == []  # everything was answered today: the earliest is due tomorrow

    result = rag("progress", "--json", "--plot", str(tmp_path / "plots" / "scores.png"), "--index", str(own_index),
                 "--notes", str(NOTES), env=cli_env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert set(shown) == {
        "topics", "due_today", "sessions", "weak_topics", "never_drilled", "unanswered", "missed_points",
        "concepts", "drilled", "today",
    }  # fmt: skip
    assert set(shown["topics"][0]) == {"topic", "mastery", "answers", "mean_score", "cards", "mean_box", "due", "weak"}
    assert set(shown["sessions"][0]) == {"id", "time", "answered", "mean_score", "scores"}
    assert set(shown["missed_points"][0]) == {"point", "cite", "how", "session"}
    assert shown["sessions"] == p.sessions and shown["weak_topics"] == p.weak_topics
    png = (tmp_path / "plots" / "scores.png").read_bytes()
    assert png.startswith(PNG) and len(png) > 10_000 and "scores over time" in result.stderr
    text = rag("progress", "--index", str(own_index), "--notes", str(NOTES), env=cli_env)
    assert "3 sessions" in text.stdout and "Never drilled" in text.stdout and UNANSWERABLE in text.stdout


def test_a_follow_up_counts_in_no_mean_and_a_point_answered_since_is_no_longer_missed():
    from rag.interview.progress import missed_points, session_line

    def turn(score, covered=(), missed=(), follow_up=None):
        points = {
            how: [{"text": t, "cite": "n.md > h"} for t in said]
            for how, said in (("covered", covered), ("missed", missed))
        }
        return {"question": {"follow_up": follow_up, "topic": "n > h"}, "feedback": {"score": score, **points}}

    session = {
        "id": "s1",
        "time": datetime.now(),
        "turns": [turn(4.0, missed=["A", "B"]), turn(10.0, ["A"], follow_up="A")],
    }
    assert session_line(session)["answered"] == 1 and session_line(session)["mean_score"] == 4.0
    assert [m["point"] for m in missed_points([session])] == ["B"]


def test_cards_fall_due_2_to_the_box_minus_1_days_after_their_last_answer(own_index):
    a = make(own_index)
    practise(a, 1)
    boxes = own_index / "interview" / "leitner.json"
    cards = json.loads(boxes.read_text())
    first, second = sorted(cards)[:2]
    days_ago = lambda n: (datetime.now(timezone.utc) - timedelta(days=n)).isoformat(timespec="seconds")  # noqa: E731
    cards[first].update(box=3, seen=days_ago(4))  # box 3: due after 4 days, so today
    cards[second].update(box=3, seen=days_ago(3))  # tomorrow
    cards["never-recorded"] = {"box": 1, "term": "Marked only", "topic": "x > y", "mark": "again"}
    boxes.write_text(json.dumps(cards))
    p = a.progress()
    assert [d["term"] for d in p.due_today] == [cards[first]["term"]]
    assert p.due_today[0]["due"] == p.today == datetime.now(timezone.utc).date().isoformat()
    assert p.due_today[0]["box"] == 3
    stored = json.loads(boxes.read_text())["never-recorded"]
    assert stored["seen"].startswith(datetime.now(timezone.utc).date().isoformat())  # dated once, kept


def test_no_interview_yet_is_an_empty_progress_and_a_plot_that_says_so(own_index):
    p = make(own_index).progress()
    assert p.sessions == [] and p.topics == []
    assert plot_progress(p).axes[0].get_title() == "No interview answered yet"


@pytest.fixture(scope="module")
def ui_index(shipped_index, tmp_path_factory):
    index = tmp_path_factory.mktemp("ui-progress") / "index"
    shutil.copytree(shipped_index, index, ignore=FRESH)
    a = make(index)
    practise(a, 2, wrong_first=True)
    a.ask(UNANSWERABLE)
    a.ask("What does dropout do?")
    return index


@pytest.fixture(scope="module")
def app_url(ui_index):
    port = free_port()
    demo = launch(make(ui_index), "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}"
    demo.close()


def test_the_progress_tab_and_the_history_panel_in_the_browser(page, ui_index, artifacts):
    page.get_by_role("tab", name="Progress").click()
    page.wait_for_selector("#progress-study h3:has-text('Study next')", timeout=60_000)
    study = page.inner_text("#progress-study")
    assert "2 sessions" in study and UNANSWERABLE in study and "Never drilled" in study
    page.wait_for_selector("#progress-plot img, #progress-plot svg", timeout=30_000)
    weak = make(ui_index).progress().weak_topics[0]
    assert weak in page.inner_text("body")  # the topic table
    page.screenshot(path=str(artifacts / "ui-progress.png"), full_page=True)

    page.get_by_role("tab", name="Chat").click()
    page.get_by_text("History: questions asked before").click()
    shows = "([q, yes]) => document.querySelector('#history-table').innerText.includes(q) === yes"
    page.wait_for_function(shows, arg=[UNANSWERABLE, True], timeout=30_000)
    page.fill("#history-search textarea", "dropout")
    page.press("#history-search textarea", "Enter")
    page.wait_for_function(shows, arg=[UNANSWERABLE, False], timeout=30_000)
    assert "What does dropout do?" in page.inner_text("#history-table")
    # a question asked here is kept and, the panel open, listed once it is answered
    page.fill("#history-search textarea", "")
    page.fill("#question textarea", "What is overfitting?")
    page.click("#ask")
    page.wait_for_function(shows, arg=["What is overfitting?", True], timeout=60_000)
    assert make(ui_index).history(limit=1)[0].question == "What is overfitting?"
    page.screenshot(path=str(artifacts / "ui-history.png"), full_page=True)
