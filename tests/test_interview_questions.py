"""The questions a default interview asks (issue #21): concepts with substance only, a mix of kinds,
difficulty honoured or refused in one line, LLM phrasings that talk about themselves rejected; over the
shipped notes with the real reader model checking each question against its section."""

import pytest
from fake_llm import FakeLLM
from helpers import NOTES

from rag import Assistant, InterviewError
from rag.interview.concepts import AGENDA, concepts_from_chunks, substantive
from rag.interview.phrasing import template_question, valid_question

SEEDS = range(1, 7)  # eval/interview_questions.py draws the same six sessions of five


@pytest.fixture(scope="module")
def drawn(shipped_index, tmp_path_factory):
    """The plans of six default sessions of five, as the labelled draw makes them."""
    coach = Assistant(notes_dir=NOTES, index_dir=shipped_index, interview_dir=tmp_path_factory.mktemp("draw"))
    return [c for seed in SEEDS for c in coach.interview(n=5, seed=seed, phrasing="template").plan]


def test_agenda_items_and_labels_are_never_asked(shipped, drawn):
    pool = concepts_from_chunks(shipped.index.chunks)
    dropped = {c.term for c in pool if not substantive(c)}
    # the notes have them: a lecture's table of contents and agenda, a grading rubric, a code default
    assert {"Table of Contents", "Agenda", "Minimal credit"} <= dropped
    assert any("strides=(1,1)" in t for t in dropped)
    assert len(drawn) == 30
    for concept in drawn:
        assert substantive(concept) and not AGENDA.search(concept.term), concept.term
        assert not concept.term.endswith(":") and any(len(p.split()) >= 7 for p in concept.key_points)


def test_a_default_draw_mixes_at_least_four_kinds_and_keeps_the_context(drawn):
    kinds = {c.kind for c in drawn}
    assert len(kinds) >= 4, kinds
    questions = [template_question(c) for c in drawn]
    assert not any(q.startswith(("Why —", "What is Table")) or " in the context of " in q for q in questions)


def test_a_generic_term_is_asked_in_its_topic(shipped):
    pool = concepts_from_chunks(shipped.index.chunks)
    loss = next(c for c in pool if c.term == "Loss Function" and "Autoencoders" in c.heading)
    assert "autoencoders" in template_question(loss).lower()
    patience = next(c for c in pool if c.term == "Patience")
    assert patience.kind == "scenario" and "validation loss does not improve" in template_question(patience)


def test_hard_difficulty_gives_hard_questions_or_says_how_many_there_are(coach):
    session = coach.interview(n=3, difficulty="hard", seed=1, phrasing="template")
    assert len(session.plan) == 3 and {c.difficulty for c in session.plan} == {"hard"}
    assert {c.kind for c in session.plan} <= {"calculation", "scenario"}
    with pytest.raises(InterviewError, match=r"only 1 hard question\(s\) on topic 'Patience' .*n=1"):
        coach.interview(topic="Patience", n=3, difficulty="hard", phrasing="template")


@pytest.mark.parametrize(
    "reply, by",
    [
        ("How does patience decide when early stopping ends training?", "llm"),
        ('The interviewer: "How does patience decide when early stopping ends training?"', "template"),
        ("Here is a question: how does patience decide when early stopping ends training?", "template"),
        ("For a machine-learning job interview, how does patience work in early stopping?", "template"),
    ],
)
def test_an_llm_phrasing_that_talks_about_itself_is_rejected(shipped_index, tmp_path, reply, by):
    with FakeLLM(reply) as llm:
        coach = Assistant(
            notes_dir=NOTES,
            index_dir=shipped_index,
            interview_dir=tmp_path / "interview",
            llm_base_url=llm.base_url,
            llm_autostart=False,
        )
        question = coach.interview(topic="Terminologies > Patience", n=1, phrasing="auto").next_question()
    assert question.phrased_by == by, question.text
    assert (question.text == reply) == (by == "llm")
    assert valid_question(reply, coach.interview(topic="Terminologies > Patience", n=1).plan[0]) == (by == "llm")


def test_steps_and_parts_are_not_asked_alone_and_a_list_is_asked_whole(shipped):
    all_concepts = concepts_from_chunks(shipped.index.chunks)
    pool = {c.term: c for c in all_concepts if substantive(c)}
    # the notes have them, as a procedure's steps, a worked example's parts and a timeline's entries
    steps = {
        "Multiply by V",
        "Weighting the Vectors",
        "Left Node Weight",
        "Subsequent Trees",
        "1950s - Birth of Machine Learning",
    }
    assert steps <= {c.term for c in all_concepts} and not steps & set(pool)
    remedies = pool["Local Minima in a loss function (how to deal)"]
    assert remedies.kind == "list" and len(remedies.key_points) >= 3
    assert template_question(remedies) == (
        "How do you deal with local minima in a loss function? Name three ways and how each one helps."
    )
    # an entry of one sentence is asked in its list, not alone ("What is Bottleneck?")
    parts = next(c for c in pool.values() if c.kind == "list" and c.heading.endswith("It consists of 4 main parts"))
    assert "Bottleneck" in parts.prompt and "Bottleneck" not in pool
    # the verb agrees with the term, and a why/when question does not ask a problem what problem it solves
    kernels = [template_question(c) for c in pool.values() if c.term == "KERNELS"]
    assert kernels == ["What are kernels in convolutional neural network?"]
    assert not any(template_question(c).startswith("What problem does") for c in pool.values())
    # a section opening with "Limitations of (simple) RNNs:" under Transformers asks for those limitations
    asked = {template_question(c) for c in all_concepts if "TRANSFORMERS AND THE ATTENTION" in c.heading}
    assert "What are the limitations of (simple) RNNs?" in asked
