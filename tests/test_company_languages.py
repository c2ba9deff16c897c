"""Company mode across languages (issue #21): a German note's facts credited when the candidate states them
in English, through the word-for-word gloss (rag/interview/gloss.py), with the real embedding model."""

import json
from pathlib import Path

from helpers import NOTES

from eval.interview import grade_company
from rag import Assistant
from rag.interview.gloss import GLOSSARY, english, is_german

COMPANY = Path(__file__).parent.parent / "eval" / "datasets" / "company_answers.jsonl"


def test_a_german_line_is_glossed_word_for_word_and_english_is_left_alone():
    words = [line.split("\t")[0] for line in GLOSSARY.read_text(encoding="utf-8").splitlines()]
    assert len(words) == len(set(words))  # a second line for a word would silently replace the first
    assert english("vor", german=True) == "before"
    assert english("KI als strategischer Wachstumsmarkt") == "AI as strategic growth market"
    assert english("Skalierbare KI", german=True) == "scalable AI"  # a short line of a German section
    english_line = "A higher learning rate is not always the answer, as the loss may diverge."
    assert not is_german(english_line) and english(english_line) == english_line
    assert is_german("Als Wissenschaftler habe ich eine Einsicht in experimentelle Modelle")


def test_an_english_answer_to_a_german_section_earns_its_facts_and_a_wrong_one_does_not(shipped_index):
    assistant = Assistant(notes_dir=NOTES, index_dir=shipped_index)
    rows = [json.loads(line) for line in COMPANY.read_text().splitlines()]
    austria = {r["label"]: r for r in rows if r["heading"].endswith("Accenture Austria")}
    right, wrong = grade_company(assistant, [austria["correct_en"], austria["wrong_en"]])
    assert right.score >= 7 and right.covered, right
    assert wrong.score <= 2, wrong
