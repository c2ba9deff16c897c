"""The public grading call, the judge's notice, the candidate's marks and Leitner, follow-up questions,
and `rag grade` / the MCP `grade_answer` over them; the real embedding model grades throughout."""

import json
from dataclasses import replace

import pytest
from fake_llm import FakeLLM
from helpers import NOTES, free_port, rag
from test_mcp import call, payload

from rag import UNSURE, Assistant, BadRequest, InterviewError
from rag.interview.leitner import LeitnerBoxes

DROPOUT = "What does dropout do in a neural network?"
DROPOUT_ANSWER = (
    "Dropout is a regularization method against overfitting: during training a random subset of the neurons is "
    "dropped, so the network cannot rely on any single neuron and generalizes better."
)


# ---- Assistant.grade -------------------------------------------------------------------------------
def test_grade_finds_the_section_by_retrieval_and_says_which(shipped):
    fb = shipped.grade(DROPOUT, DROPOUT_ANSWER)
    wrong = shipped.grade(DROPOUT, "The capital of France is Paris, on the Seine.")
    section = fb.sources[0]
    assert "dropout" in section.heading.lower() and {s.heading for s in fb.sources} == {section.heading}
    assert (
        fb.notices[0].startswith(f"Graded against {section.source} › ") and "matches the question best" in fb.notices[0]
    )
    assert 0 <= wrong.score < fb.score <= 10 and fb.covered and fb.model_answer
    assert all(k.cite.startswith(f"{section.source} > ") for k in fb.covered + fb.missed + fb.contradicted)


def test_grade_against_a_named_note_and_heading(shipped):
    fb = shipped.grade(
        "What is batch normalization?",
        "It normalizes each layer's inputs.",
        "ml-fundamentals.md",
        "Batch Normalization",
    )
    assert all(s.heading.endswith("Batch Normalization") and s.source == "ml-fundamentals.md" for s in fb.sources)
    assert not any(n.startswith("Graded against") for n in fb.notices)  # the caller named it
    assert all(
        k.cite == "ml-fundamentals.md > Neural Network Terminologies > Batch Normalization"
        for k in fb.missed + fb.covered
    )


def test_a_full_answer_lists_the_sections_other_points_as_further_reading_not_as_missed(shipped):
    """The score counts the three best-covered points: a good answer that covers them has the section's other
    points (here its worked example) listed as "also in your notes", not as "missed"; a weak one has them missed."""
    full = shipped.grade(
        "What is batch normalization?",
        "Batch normalization normalizes the inputs of each layer in a neural network. It addresses internal "
        "covariate shift, the change in the distribution of activations while training. By normalizing, it improves "
        "the speed and stability of training.",
        "ml-fundamentals.md",
        "Batch Normalization",
    )
    assert full.score >= 8 and len(full.covered) >= 3 and not full.missed and full.further
    short = shipped.grade(
        "What is batch normalization?",
        "It normalizes the inputs of each layer.",
        "ml-fundamentals.md",
        "Batch Normalization",
    )
    assert short.score < 8 and short.missed and not short.further


@pytest.mark.parametrize(
    "args, said",
    [
        (("", "an answer"), "the question is empty"),
        ((DROPOUT, "   "), "the answer is empty"),
        ((DROPOUT, "x", "atention.md"), "no note or folder 'atention.md' in the notes"),
        ((DROPOUT, "x", "ml-fundamentals.md", "Dropot Layer"), "no heading 'Dropot Layer' in ml-fundamentals.md"),
    ],
)
def test_grade_refuses_bad_input_in_one_line(shipped, args, said):
    with pytest.raises(BadRequest, match=said) as e:
        shipped.grade(*args)
    assert "\n" not in str(e.value)


# ---- the judge -------------------------------------------------------------------------------------
@pytest.mark.parametrize("reply", ["I think the answer is quite good!", '{"covered": [true]}'])
def test_an_unusable_judge_reply_is_said_in_the_feedback(coach, reply):
    with FakeLLM(reply) as judge:
        graded = Assistant(settings=coach.settings, judge_base_url=judge.base_url, judge_model="judge-x")
        fb = graded.grade(DROPOUT, DROPOUT_ANSWER)
        assert judge.requests  # it was asked
    alone = coach.grade(DROPOUT, DROPOUT_ANSWER)
    assert fb.judged_by == ["embedding", "support"] and fb.score == alone.score
    assert any("judge model judge-x gave no usable verdict" in n for n in fb.notices)
    assert not any("judge" in n for n in alone.notices)


def test_a_judge_that_does_not_answer_is_said_and_the_answer_still_graded(coach):
    down = Assistant(settings=coach.settings, judge_base_url=f"http://127.0.0.1:{free_port()}/v1", judge_model="j")
    session = down.interview(topic="Terminologies > Patience", n=1, phrasing="template")
    session.next_question()
    fb = session.answer(" ".join(session.plan[0].key_points))
    assert fb.score > 0 and any("judge model j gave no usable verdict" in n for n in fb.notices)


def test_a_usable_judge_reply_adds_no_notice(coach):
    with FakeLLM("") as judge:
        graded = Assistant(settings=coach.settings, judge_base_url=judge.base_url, judge_model="judge-x")
        session = graded.interview(topic="Terminologies > Patience", n=1, phrasing="template")
        judge.reply = json.dumps({"covered": [True] * len(session.plan[0].key_points)})
        session.next_question()
        fb = session.answer(" ".join(session.plan[0].key_points))
    assert fb.judged_by == ["embedding", "support", "llm"] and fb.notices == []


# ---- marks and Leitner -----------------------------------------------------------------------------
def _answered(coach, n=2):
    session = coach.interview(n=n, seed=7, phrasing="template", follow_ups=False)
    for _ in range(n):
        session.next_question()
        session.answer("I don't know")
    return session


def test_the_candidates_mark_moves_the_leitner_box_where_the_grader_is_unsure(coach):
    session = _answered(coach)
    first, second = session.turns
    boxes = LeitnerBoxes(session.folder(coach) / "leitner.json")
    with pytest.raises(InterviewError, match=r"Q2 scored 0.0/10: marks are for scores 4-7"):
        session.mark("good")  # the grader was sure: it stands
    # the grader's own score is what a mark is allowed for; the marks themselves are the candidate's
    low, high = UNSURE
    second.feedback = replace(second.feedback, score=(low + high) / 2, verdict="graded")
    key = session.concept_of(second.question).key
    assert session.mark("easy") == 3  # a new card sits in box 1: Easy moves it two up
    assert session.mark("hard") == 1  # marking again counts the last mark only: Hard keeps it where it was
    assert session.mark("good") == 2 and boxes._read()[key]["box"] == 2
    assert session.summary().weak_answers == 1  # Q1 (0.0); Q2 marked Good is not weak
    session.mark("again")
    summary = session.summary()
    assert boxes._read()[key]["box"] == 1 and summary.weak_answers == 2
    assert [s["mark"] for s in summary.scores] == [None, "again"] and second.question.topic in summary.weak_topics
    again = coach.interview(resume=session.id)
    assert again.turns[1].mark == "again" and again.summary() == summary
    assert "you marked it Again" in again.to_markdown()
    with pytest.raises(InterviewError, match="unknown mark 'meh'; choose one of again, hard, good, easy"):
        session.mark("meh")


def test_only_answers_below_the_pass_score_count_as_weak(coach):
    session = _answered(coach)
    session.turns[0].feedback = replace(session.turns[0].feedback, score=6.0, verdict="graded")
    session.turns[1].feedback = replace(session.turns[1].feedback, score=4.9, verdict="graded")
    summary = session.summary()
    assert [s["weak"] for s in summary.scores] == [False, True] and summary.weak_answers == 1
    assert summary.weak_topics == [session.turns[1].question.topic]


# ---- follow-ups ------------------------------------------------------------------------------------
def test_a_partly_right_answer_gets_one_follow_up_on_a_missed_point(coach):
    session = coach.interview(n=8, seed=4, phrasing="template")
    follow_ups = []
    while (q := session.next_question()) is not None:
        concept = session.concept_of(q)
        if q.follow_up:
            follow_ups.append(q)
            before = session.turns[-2]
            assert q.number == before.question.number and q.label == f"Q{q.number} follow-up"
            assert q.follow_up in [k.text for k in before.feedback.missed + before.feedback.contradicted]
            assert before.feedback.covered and q.follow_up not in q.text  # a word of it is left out to fill in
            assert "____" in q.text and q.text.startswith(f"Follow-up on {concept.term}: ")
            fb = session.answer("no idea")
            assert [k.text for k in fb.covered + fb.contradicted + fb.missed] == [q.follow_up]  # graded on it alone
            card = LeitnerBoxes(session.folder(coach) / "leitner.json")._read()[concept.key]
            assert card["last_score"] == before.feedback.score  # the box follows the question itself
        else:
            session.answer(concept.key_points[0])  # the note's first point only: right, but not all of it
    assert follow_ups, "no answer covering one point of several got a follow-up"
    assert len({q.concept_key for q in follow_ups}) == len(follow_ups)  # at most one per concept
    turns = session.turns
    summary = session.summary()
    assert session.asked == 8 and session.done and summary.answered == 8
    # listed, but a follow-up grades one point: it counts towards neither the mean nor the weak answers
    assert len(summary.scores) == 8 + len(follow_ups)
    assert summary.mean_score == round(sum(t.feedback.score for t in turns if not t.question.follow_up) / 8, 1)
    assert not any(s["weak"] for s in summary.scores if "follow-up" in s["label"])
    assert not any(a.question.follow_up and b.question.follow_up for a, b in zip(turns, turns[1:]))
    assert f"## {follow_ups[0].label}. {follow_ups[0].text}" in session.to_markdown()


def test_a_follow_up_filled_with_the_missing_word_covers_its_point(coach):
    # tried in a terminal session: "Birds" for "6 ____, 0 Mammals" scored 2.7, "matrices, small grids…" 0.0
    def first_follow_up(session):
        while (q := session.next_question()) is not None and not q.follow_up:
            session.answer(session.concept_of(q).key_points[0])
        return q

    for fill, covered in ((True, True), (False, False)):
        session = coach.interview(n=8, seed=4, phrasing="template")
        q = first_follow_up(session)
        word = q.gap
        assert word and f"“{q.follow_up}”" not in q.text
        fb = session.answer(f"{word}, as the notes say" if fill else "sentences, I think")
        assert bool(fb.covered) is covered and (fb.score >= 7.5) is covered, (word, fb)


def test_no_follow_up_after_an_answer_with_nothing_right_or_when_turned_off(coach):
    session = coach.interview(n=3, seed=4, phrasing="template")
    for _ in range(3):
        assert not session.next_question().follow_up
        session.answer("I don't know")
    assert session.next_question() is None and len(session.turns) == 3
    quiet = coach.interview(n=3, seed=4, phrasing="template", follow_ups=False)
    while (q := quiet.next_question()) is not None:
        quiet.answer(quiet.concept_of(q).key_points[0])
    assert len(quiet.turns) == 3 and not any(t.question.follow_up for t in quiet.turns)


# ---- front ends ------------------------------------------------------------------------------------
def test_rag_grade_on_the_command_line(shipped_index, cli_env):
    where = ["--notes", str(NOTES), "--index", str(shipped_index)]
    shown = rag("grade", DROPOUT, DROPOUT_ANSWER, *where, env=cli_env)
    assert shown.returncode == 0, shown.stderr
    assert "Score " in shown.stdout and "Model answer" in shown.stdout and "Graded against " in shown.stdout
    data = json.loads(rag("grade", DROPOUT, DROPOUT_ANSWER, "--json", *where, env=cli_env).stdout)
    assert data["question"] == DROPOUT and 0 <= data["score"] <= 10 and data["sources"] and "contradicted" in data
    named = json.loads(
        rag("grade", DROPOUT, DROPOUT_ANSWER, "--source", "ml-fundamentals", "--json", *where, env=cli_env).stdout
    )
    assert {s["source"] for s in named["sources"]} == {"ml-fundamentals.md"}
    empty = rag("grade", DROPOUT, "", *where, env=cli_env)
    assert empty.returncode == 1 and empty.stderr.strip() == "error: write an answer to grade: the answer is empty"


def test_mcp_grade_answer_grades_a_free_question_or_a_quiz(shipped_index, tmp_path):
    async def steps(session):
        out = {"free": await session.call_tool("grade_answer", {"question": DROPOUT, "answer": DROPOUT_ANSWER})}
        out["neither"] = await session.call_tool("grade_answer", {"answer": DROPOUT_ANSWER})
        out["unknown"] = await session.call_tool(
            "grade_answer", {"question": DROPOUT, "answer": DROPOUT_ANSWER, "source": "atention.md"}
        )
        quiz = payload(await session.call_tool("quiz", {"topic": "Batch Normalization"}))
        out["quiz"] = await session.call_tool("grade_answer", {"session_id": quiz["session_id"], "answer": "no idea"})
        return out

    out = call(NOTES, shipped_index, tmp_path, f"http://127.0.0.1:{free_port()}/v1", steps)
    free = payload(out["free"])
    assert free["question"] == DROPOUT and free["notices"][0].startswith("Graded against") and free["covered"]
    assert out["neither"].is_error and "give the session_id of a quiz question" in out["neither"].content[0].text
    assert out["unknown"].is_error and "no note or folder 'atention.md'" in out["unknown"].content[0].text
    assert payload(out["quiz"])["session_id"] and not out["quiz"].is_error
