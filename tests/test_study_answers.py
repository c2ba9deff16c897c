"""Answers a student can study from (issue #24): the reader picks the sentence that answers, and the
answer is composed around it. Each case is one the held-out answers got wrong before the reader."""

from __future__ import annotations

import pytest
from helpers import write

from rag.answer.evidence import units_of

GANS = """# Generative models
## GANs
create a plausible data distribution by training a critic and a generator.

issue: mode collapse

improvements: Wasserstein loss, Lipschitz Constraint

## Diffusion models
Model the noise added to an image iteratively to then remove it in a reverse step to obtain a realistic image.
"""

TRAINING = """# Training deep networks
## Learning rate warmup
Warmup starts training with a small learning rate and raises it over the first steps.
It helps because early gradients are noisy and large steps would push the weights too far before the
optimizer's statistics have settled.

## Dropout
Dropout randomly switches off a fraction of the neurons in each training step.
You use dropout when a large network overfits a small dataset, typically between fully connected layers.

## Transformer sizes
The Transformer base model uses h = 8 heads and
d_model = 512, so each head has 64 dimensions.

## Metrics
| metric | formula |
|---|---|
| precision | TP / (TP + FP) |
| recall | TP / (TP + FN) |

The F1 score is the harmonic mean of precision and recall.

## Linear regression
There are several assumptions of linear regression.
- Linearity between the features and the target
- Independence of the errors
- Constant variance of the errors

## Actor-Critic Methods
Actor-Critic Methods

Actor-critic methods learn a policy (the actor) and a value function (the critic) together.
"""


@pytest.fixture
def study(make_assistant, notes_dir):
    write(notes_dir, "gans.md", GANS)
    write(notes_dir, "training.md", TRAINING)
    a = make_assistant(reader=True)
    a.ingest()
    assert a.reader is not None, "the reader model ships in rag/answer/models (python -m training.train_reader)"
    return lambda question: a.ask(question, mode="extractive")


def test_the_fix_is_quoted_not_the_definition_of_the_same_block(study):
    answer = study("How do you fix GAN mode collapse?")
    first = answer.text.splitlines()[0]
    assert "Wasserstein loss" in first and "plausible data distribution" not in answer.text


def test_why_warmup_helps_is_answered_not_abstained(study):
    answer = study("Why does warmup help?")
    assert answer.mode == "extractive"
    assert "early gradients are noisy" in answer.text


def test_a_two_part_question_gets_both_parts(study):
    answer = study("What is dropout and when do you use it?")
    assert "switches off a fraction of the neurons" in answer.text
    assert "overfits a small dataset" in answer.text


def test_a_sentence_cut_by_a_hard_line_break_is_quoted_whole():
    units = units_of("The Transformer base model uses h = 8 heads and\nd_model = 512, so each head has 64 dimensions.")
    assert units == [
        ("The Transformer base model uses h = 8 heads and d_model = 512, so each head has 64 dimensions.", "sentence")
    ]


def test_how_many_heads_quotes_the_whole_sentence(study):
    answer = study("How many attention heads does the Transformer base model use?")
    assert "uses h = 8 heads and d_model = 512, so each head has 64 dimensions" in answer.text


def test_table_rows_are_sentences_with_their_header_and_never_bullets(study):
    assert ("metric: recall; formula: TP / (TP + FN)", "row") in units_of(TRAINING)
    answer = study("What is the F1 score?")
    assert answer.text.splitlines()[0].startswith("The F1 score is the harmonic mean of precision and recall")
    assert "|" not in answer.text


def test_a_lead_in_comes_with_the_list_it_announces(study):
    answer = study("What are the assumptions of linear regression?")
    for item in ("Linearity between the features", "Independence of the errors", "Constant variance"):
        assert item in answer.text


def test_a_lone_label_is_never_the_answer(study):
    answer = study("What are actor-critic methods?")
    assert answer.text.splitlines()[0].startswith("Actor-critic methods learn a policy")


def test_a_pronoun_opener_comes_after_its_antecedent(study):
    lines = study("Why does warmup help?").text.splitlines()
    it = next(i for i, line in enumerate(lines) if "early gradients are noisy" in line)
    assert it > 0 and "Warmup starts training" in lines[it - 1]


def test_no_sentence_is_said_twice(study):
    lines = [line.lstrip("- ") for line in study("What is the F1 score?").text.splitlines()]
    assert len(lines) == len(set(lines))
