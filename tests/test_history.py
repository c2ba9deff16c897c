"""The history: every answer kept in SQLite beside the index, searched, turned off, deleted."""

import json

import pytest
from fake_llm import FakeLLM
from helpers import NOTES, free_port, rag

from rag import Assistant, BadRequest, HistoryEntry


def assistant(index, **overrides) -> Assistant:
    settings = dict(llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_autostart=False, answer_mode="extractive")
    return Assistant(notes_dir=NOTES, index_dir=index, **{**settings, **overrides})


def test_each_answer_is_kept_once_and_found_by_a_search(own_index):
    a = assistant(own_index)
    assert a.history() == []
    dropout = a.ask("What does dropout do?")
    stream = a.stream_chat(
        [
            {"role": "user", "content": "What does batch normalization do?"},
            {"role": "assistant", "content": "It normalizes layer inputs."},
            {"role": "user", "content": "Why does it help training?"},
        ]
    )
    list(stream)
    assert stream.answer.text  # read twice (the pieces, then .answer): logged once
    abstained = a.ask("What is the population of Lima in Peru?")
    entries = a.history()
    assert [e.question for e in entries] == [
        "What is the population of Lima in Peru?",
        "Why does it help training?",
        "What does dropout do?",
    ]
    last = entries[-1]
    assert isinstance(last, HistoryEntry) and last.answer == dropout.text and last.mode == "extractive"
    assert last.made == "extractive" and not last.abstained
    assert last.sources[0] == {
        "source": dropout.sources[0].source,
        "heading": dropout.sources[0].heading,
        "lines": [dropout.sources[0].line_start, dropout.sources[0].line_end],
        "cited": dropout.sources[0].cited,
    }
    assert entries[0].abstained and entries[0].made == "abstained" == abstained.mode
    assert entries[0].time.endswith("+00:00")
    # every word must be in the question or the answer; punctuation is text, not query syntax
    assert [e.question for e in a.history("dropout")] == ["What does dropout do?"]
    assert [e.question for e in a.history("Lima population")] == ["What is the population of Lima in Peru?"]
    assert a.history("dropout Lima") == [] and a.history('what\'s "AND" (*') == []
    assert len(a.history(limit=2)) == 2 and [e.abstained for e in a.history(abstained=True)] == [True]
    with pytest.raises(BadRequest, match="limit = 0"):
        a.history(limit=0)
    # the JSON shape `rag history --json` prints (README)
    assert set(last.to_json()) == {"id", "time", "question", "answer", "mode", "made", "abstained", "sources"}


def test_a_generated_answer_is_kept_with_the_mode_it_was_asked_in(own_index):
    with FakeLLM("A dropout layer is a regularization method used to prevent overfitting [1].") as llm:
        a = assistant(own_index, llm_base_url=llm.base_url, answer_mode="verified")
        answer = a.ask("What is dropout?")
    (entry,) = a.history()
    assert (entry.mode, entry.made, entry.answer) == ("verified", answer.mode, answer.text)
    assert answer.mode == "generated" and "regularization" in entry.answer


def test_search_without_fts5_falls_back_to_like(own_index):
    a = assistant(own_index)
    a.ask("What does dropout do?")
    a.ask("What is a convolution?")
    log = a._history()
    log._fts = False  # a SQLite built without FTS5
    assert [e.question for e in log.search("DROPOUT")] == ["What does dropout do?"]
    assert len(log.search(None)) == 2


def test_the_setting_and_log_false_turn_it_off(own_index):
    a = assistant(own_index, history=False)
    a.ask("What does dropout do?")
    assert a.history() == [] and not (own_index / "history.sqlite").exists()
    on = assistant(own_index)
    on.ask("What does dropout do?", log=False)  # one question kept out (`rag eval answers` asks this way)
    on.ask("What is overfitting?")
    assert [e.question for e in on.history()] == ["What is overfitting?"]


def test_clearing_deletes_every_entry_from_the_file(own_index):
    a = assistant(own_index)
    a.ask("What does dropout do?")
    a.ask("What is overfitting?")
    assert a.clear_history() == 2
    assert a.history() == [] and a.history("dropout") == []
    assert b"dropout" not in (own_index / "history.sqlite").read_bytes()  # gone from the file, not just unlisted
    assert a.clear_history() == 0


def test_the_cli_keeps_searches_skips_with_no_log_and_deletes(own_index, cli_env):
    index = ["--index", str(own_index), "--notes", str(NOTES)]
    assert rag("ask", "What does dropout do?", "--mode", "extractive", "--no-log", *index, env=cli_env).returncode == 0
    assert rag("ask", "What is overfitting?", "--mode", "extractive", *index, env=cli_env).returncode == 0
    listed = rag("history", "--json", *index, env=cli_env)
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)
    assert entry["question"] == "What is overfitting?" and entry["mode"] == "extractive" and entry["sources"]
    found = rag("history", "overfitting", *index, env=cli_env)
    assert "? What is overfitting?" in found.stdout and "dropout" not in found.stdout.lower()
    assert "nothing asked matches" in rag("history", "dropout", *index, env=cli_env).stdout
    refused = rag("history", "--delete", *index, env=cli_env, input="n\n")
    assert refused.returncode == 1 and "nothing deleted" in refused.stderr
    assert len(json.loads(rag("history", "--json", *index, env=cli_env).stdout)) == 1
    deleted = rag("history", "--delete", "--yes", *index, env=cli_env)
    assert deleted.returncode == 0 and "deleted 1 entries" in deleted.stderr
    assert json.loads(rag("history", "--json", *index, env=cli_env).stdout) == []
