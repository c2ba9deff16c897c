"""Mock interviews over the shipped notes, with the real embedding model grading."""

import json
import re

import pytest
from fake_llm import FakeLLM
from helpers import NOTES
from interview_cases import CASES

from rag import Assistant
from rag.interview.concepts import KINDS, concepts_from_chunks
from rag.interview.grading import grade, model_answer
from rag.interview.phrasing import template_question
from rag.interview.session import InterviewError


@pytest.fixture(scope="module")
def pool(shipped_index):
    return concepts_from_chunks(Assistant(notes_dir=NOTES, index_dir=shipped_index).index.chunks)


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[*_`]", "", text).split()).lower()


def test_gold_chunks_contain_their_concept_and_key_points(coach, pool):
    chunks = {c.id: c for c in coach.index.chunks}
    assert len(pool) > 100
    for concept in pool:
        gold = _plain(" ".join(chunks[i].embed_text for i in concept.chunk_ids))
        assert _plain(concept.term) in gold, (concept.term, concept.heading)
        for point in concept.key_points:
            # a list's point names its item: "Policy π: Fully defines the behavior of the agent."
            item, _, said = point.partition(": ") if concept.kind == "list" else ("", "", point)
            assert _plain(item) in gold and _plain(said)[:40] in gold, (concept.term, point)
    assert {c.kind for c in pool} == set(KINDS)


def test_question_kinds_follow_the_notes(pool):
    by_term = {(c.term, c.kind): c for c in pool}
    assert ("Decision trees versus SVMs", "compare") in by_term
    assert ("Why parameterize model parameters", "why") in by_term
    assert ("SOFTMAX FUNCTION", "formula") in by_term
    calculation = [c for c in pool if c.kind == "calculation"]
    assert calculation and all(re.search(r"\d", " ".join(c.key_points)) for c in calculation)
    for concept in pool:
        question = template_question(concept)
        assert question.endswith(("?", ".", ")")) and "  " not in question


def test_a_section_over_several_chunks_keeps_its_paragraph_as_key_points_and_model_answer(pool):
    # the notes' "10. REINFORCEMENT LEARNING (RL)" is cut into four chunks; the first holds one line
    rl = next(c for c in pool if c.term == "REINFORCEMENT LEARNING (RL)" and c.kind == "definition")
    points = " ".join(rl.key_points)
    assert rl.key_points[0].startswith("Behavioral Learning") and len(rl.chunk_ids) >= 3
    assert "agent interacts with its environment" in points and "trial and error" in points
    answer = model_answer(rl)
    assert "maximize the (long term) reward" in answer and "trial and error" in answer
    # what follows in another vein (fields of application, limitations) stays a question of its own
    limitations = next(c for c in pool if c.term == rl.term and c.kind == "why")
    assert "Sample efficiency" in " ".join(limitations.key_points) and "Sample efficiency" not in points


# the point-by-point grader (issue #21) takes "waits for the validation loss to improve" for the opposite of
# the note's "if the validation loss does not improve": a false contradiction (the right answer scored 0.8),
# found after its held-out scoring, which forbids tuning it away; the case stays, marked, until the next
# change to the grader
FALSE_CONTRADICTION = {"Patience"}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason="a false contradiction: 'does not improve'"))
        if c["term"] in FALSE_CONTRADICTION
        else c
        for c in CASES
    ],
    ids=[c["term"] for c in CASES],
)
def test_correct_beats_partial_beats_wrong_and_empty(coach, pool, case):
    concept = next(c for c in pool if c.term == case["term"] and c.source == case["source"])
    score = {k: grade(concept, "q", case[k], coach.embedder, []).score for k in ("correct", "partial", "wrong")}
    empty = grade(concept, "q", "", coach.embedder, []).score
    assert score["correct"] > score["partial"] > max(score["wrong"], empty), score
    assert empty == 0


def test_empty_dont_know_and_off_topic_answers_get_zero_and_the_model_answer(coach, pool):
    concept = next(c for c in pool if c.term == "Patience")
    for answer, verdict in [
        ("   ", "empty"),
        ("I don't know", "dont_know"),
        ("keine Ahnung, sorry", "dont_know"),
        ("Paris is the capital of France and has many museums.", "off_topic"),
    ]:
        fb = grade(concept, "q", answer, coach.embedder, [])
        assert (fb.score, fb.verdict) == (0, verdict), answer
        assert not fb.covered and len(fb.missed) == len(concept.key_points)
        assert "early stopping" in fb.model_answer
    covered = grade(concept, "q", CASES[1]["correct"], coach.embedder, []).covered
    assert covered and all(k.cite == "ml-fundamentals.md > Neural Network Terminologies > Patience" for k in covered)


def test_session_asks_without_repeats_grades_and_cites(coach):
    # follow-ups have their own test (test_grading_marks_followups.py): here only the planned questions
    session = coach.interview(n=8, seed=1, phrasing="template", follow_ups=False)
    questions = []
    while (q := session.next_question()) is not None:
        assert session.next_question() == q  # asking again before answering gives the same question
        questions.append(q)
        fb = session.answer("It normalises the inputs of each layer with the mini-batch statistics.")
        assert 0 <= fb.score <= 10 and fb.sources and fb.sources[0].source == q.source
    assert len(questions) == 8
    assert len({q.text for q in questions}) == 8 and len({q.concept_key for q in questions}) == 8
    summary = session.summary()
    assert summary.answered == 8 and set(summary.per_topic) == {q.topic for q in questions}
    with pytest.raises(InterviewError, match="no question is waiting"):
        session.answer("late")


def test_topic_and_difficulty_select_and_unknown_topic_says_what_exists(coach):
    session = coach.interview(topic="reinforcement", n=3, difficulty="easy", phrasing="template", seed=0)
    for _ in range(3):
        q = session.next_question()
        assert "reinforcement" in (q.heading + q.source).lower() and q.difficulty == "easy"
        session.answer("")
    with pytest.raises(
        InterviewError, match="no questions match topic 'quantum chromodynamics'; try one of: .*ml-fundamentals"
    ):
        coach.interview(topic="quantum chromodynamics")


def test_saved_session_resumes_and_exports(coach):
    session = coach.interview(n=3, seed=2, phrasing="template")
    first = session.next_question()
    fb = session.answer(CASES[0]["correct"])
    second = session.next_question()  # asked, not yet answered when the user leaves
    path = session.save()
    saved = json.loads(path.read_text())
    assert saved["turns"][0]["answer"] == CASES[0]["correct"] and saved["turns"][0]["feedback"]["score"] == fb.score

    again = coach.interview(resume=session.id)
    assert again.summary() == session.summary()
    assert again.turns[0].feedback == session.turns[0].feedback
    assert again.next_question() == second  # the waiting question comes back, not a new one
    again.answer("")
    third = again.next_question()
    assert third.number == 3 and third.text not in (first.text, second.text)
    again.answer("")
    assert again.next_question() is None and again.done
    markdown = again.export_markdown().read_text()
    assert first.text in markdown and f"{fb.score}/10" in markdown and "Model answer" in markdown
    with pytest.raises(InterviewError, match="no interview session 'nope'.*recent: " + session.id):
        coach.interview(resume="nope")


def test_missed_concepts_come_back_first_next_session(coach):
    first = coach.interview(n=2, seed=5, phrasing="template")
    missed = first.next_question()
    first.answer("I don't know")
    known = first.next_question()
    concept = first.plan[1]
    first.answer(" ".join(concept.key_points))  # the note's own words: full marks
    assert first.turns[1].feedback.score >= coach.settings.interview_pass_score
    assert missed.topic in first.summary().weak_topics or missed.topic == known.topic

    later = coach.interview(n=3, seed=99, phrasing="template")
    assert later.plan[0].key == missed.concept_key
    assert known.concept_key not in [c.key for c in later.plan[:2]]


def test_company_mode_practises_pitch_questions_and_background(coach):
    session = coach.interview(mode="company", n=10, phrasing="template")
    kinds = {c.kind for c in session.plan}
    assert kinds == {"pitch", "ask", "background"}
    assert all(c.source == "accenture-interview-prep.md" for c in session.plan)
    asks = [p for c in session.plan if c.kind == "ask" for p in c.key_points]
    assert any("recent machine learning projects" in p for p in asks)
    with pytest.raises(InterviewError, match="no interview-prep notes found"):
        Assistant(notes_dir=NOTES, index_dir=coach.index_dir, interview_company_notes=["*nothing*"]).interview(
            mode="company"
        )


def test_judge_model_verdicts_are_combined_with_similarity(coach):
    with FakeLLM("") as judge:
        graded = Assistant(
            notes_dir=NOTES,
            index_dir=coach.index_dir,
            interview_dir=coach.settings.interview_dir,
            judge_base_url=judge.base_url,
            judge_model="fake-model",
        )
        session = graded.interview(topic="Terminologies > Patience", n=1, phrasing="template")
        concept = session.plan[0]
        judge.reply = json.dumps({"covered": [True] + [False] * (len(concept.key_points) - 1)})
        session.next_question()
        fb = session.answer(CASES[1]["correct"])
        assert "Key points:" in judge.requests[0]["messages"][0]["content"]
    assert fb.judged_by == ["embedding", "support", "llm"]
    assert [k.text for k in fb.covered] == concept.key_points[:1]
    alone = grade(concept, "q", CASES[1]["correct"], coach.embedder, []).score
    # the judge's share of points stated (one of them) averaged with the grader's own score; that the
    # judged score fell below the grader's held only while this answer scored high alone (see
    # FALSE_CONTRADICTION)
    share = 10 / len(concept.key_points)
    assert abs(fb.score - (alone + share) / 2) <= 0.1, (fb.score, alone, share)
