"""The `rag` console script, run as a user would."""

import json
import re

import pytest
from helpers import free_port, rag, write

pytestmark = pytest.mark.integration  # processes of their own


def test_help_on_every_command():
    for command in (
        [],
        ["ingest"],
        ["retrieve"],
        ["status"],
        ["ask"],
        ["chat"],
        ["interview"],
        ["serve"],
        ["model", "prepare"],
    ):
        result = rag(*command, "--help")
        assert result.returncode == 0, result.stderr
        assert "Usage" in result.stdout


def test_ingest_retrieve_status_json(tmp_path, notes_dir, cli_env):
    write(notes_dir, "a.md", "# Dropout\nDropout randomly zeroes activations during training.\n")
    write(notes_dir, "bad.md", b"\x00\x01binary")
    index = str(tmp_path / "idx")
    first = rag("ingest", str(notes_dir), "--index", index, "--json", env=cli_env)
    assert first.returncode == 0, first.stderr
    stats = json.loads(first.stdout)
    assert stats["files"] == 1 and stats["added"] == 1
    assert any(s.startswith("bad.md: binary data") for s in stats["skipped"])

    human = rag("ingest", str(notes_dir), "--index", index, env=cli_env)
    assert human.returncode == 0 and "Up to date: 1 files" in human.stdout
    assert human.stderr.count("skipped") == 1 and "bad.md: binary data" in human.stderr  # said once, with why

    hits = json.loads(
        rag("retrieve", "what zeroes activations?", "-k", "3", "--index", index, "--json", env=cli_env).stdout
    )
    assert hits[0]["source"] == "a.md" and hits[0]["heading"] == "a > Dropout" and hits[0]["rank"] == 1

    status = json.loads(rag("status", "--index", index, "--json", env=cli_env).stdout)
    assert status["files"] == 1 and status["chunks"] >= 1 and status["indexed"] is True
    assert status["server"] is None


def test_ingest_exit_status(tmp_path, notes_dir, cli_env):
    missing = rag("ingest", str(tmp_path / "nope"), "--index", str(tmp_path / "i"), env=cli_env)
    assert missing.returncode == 1
    assert "notes folder not found" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    write(notes_dir, "empty.md", "")
    nothing = rag("ingest", str(notes_dir), "--index", str(tmp_path / "i"), env=cli_env)
    assert nothing.returncode == 1 and "empty file" in nothing.stderr


def test_retrieve_without_index_says_how_to_build_it(tmp_path, cli_env):
    # no notes folder either, so there is nothing to bring the index up to date from
    result = rag(
        "retrieve", "anything", "--notes", str(tmp_path / "no-notes"), "--index", str(tmp_path / "none"), env=cli_env
    )
    assert result.returncode == 1 and "rag ingest" in result.stderr


def test_ask_with_llm_down_prints_passages_and_exits_3(shipped_index, cli_env):
    result = rag(
        "ask", "What does batch normalization do?", "--index", str(shipped_index), "--no-autostart", env=cli_env
    )
    assert result.returncode == 3, result.stderr
    assert "LLM unavailable" in result.stderr
    assert "Batch" in result.stdout and "Sources" in result.stdout


def test_serve_refuses_a_busy_port(cli_env):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = rag("serve", "--port", str(port), env=cli_env)
    assert result.returncode == 1 and f"port {port}" in result.stderr and "busy" in result.stderr


def test_serve_reports_a_server_that_dies_while_starting(tmp_path, cli_env):
    empty_model = tmp_path / "not-a-model"
    empty_model.mkdir()
    result = rag("serve", "--model", str(empty_model), "--port", str(free_port()), env=cli_env, timeout=600)
    assert result.returncode == 1
    assert "vLLM exited while starting" in result.stderr and "last lines of" in result.stderr
    status = rag("serve", "--status", env=cli_env)
    assert status.returncode == 1 and "not running" in status.stdout


def test_chat_session_with_history_sources_and_reset(shipped_index, cli_env):
    from fake_llm import FakeLLM

    # the notes' own words (ai-applications-summary.txt, "DROPOUT LAYER"): verification keeps them
    with FakeLLM("A dropout layer is a regularization method used to prevent overfitting [1].") as llm:
        env = {**cli_env, "RAG_LLM_BASE_URL": llm.base_url}
        script = "What is dropout?\n/sources\nWhy does it help?\n/reset\n/sources\n/quit\n"
        result = rag("chat", "--index", str(shipped_index), env=env, input=script)
    assert result.returncode == 0, result.stderr
    # kept, cited to the block that states it (which block that is depends on how the evidence ranks)
    assert (
        len(
            re.findall(
                r"A dropout layer is a regularization method used to prevent overfitting \[\d\]\.", result.stdout
            )
        )
        == 2
    )
    assert "Sources" in result.stdout and "[1] " in result.stdout
    assert "Conversation cleared." in result.stdout and "No answer yet." in result.stdout
    second = llm.requests[1]["messages"]
    assert [m["role"] for m in second][-3:] == ["user", "assistant", "user"]  # history went along


def test_eval_retrieval_command_writes_reports(shipped_index, tmp_path, cli_env):
    from eval.dataset import DEFAULT_DATASET

    subset = tmp_path / "qs.jsonl"
    subset.write_text("".join(DEFAULT_DATASET.read_text().splitlines(keepends=True)[:10]))
    out = tmp_path / "report"
    result = rag(
        "eval",
        "retrieval",
        "--configs",
        "bm25,hybrid",
        "--dataset",
        str(subset),
        "--index",
        str(shipped_index),
        "--out",
        str(out),
        env=cli_env,
    )
    assert result.returncode == 0, result.stderr
    assert "hybrid" in result.stdout and "hit@2000" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["per_question.png", "recall_at_k.png", "report.json", "report.md"]
    assert "rag eval retrieval --configs bm25,hybrid" in (out / "report.md").read_text()


def test_interview_session_with_piped_answers_writes_its_transcript(shipped_index, tmp_path, cli_env):
    env = {**cli_env, "RAG_INTERVIEW_DIR": str(tmp_path / "interview")}
    answers = "Dropout randomly drops neurons during training to prevent overfitting.\n/skip\nI don't know\n"
    md = tmp_path / "transcript.md"
    result = rag(
        "interview",
        "--n",
        "3",
        "--seed",
        "4",
        "--index",
        str(shipped_index),
        "--export",
        str(md),
        input=answers,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Model answer") == 3 and "Score" in result.stdout and "mean" in result.stdout
    saved = json.loads(next((tmp_path / "interview" / "sessions").glob("*.json")).read_text())
    assert [t["answer"] for t in saved["turns"]] == [
        "Dropout randomly drops neurons during training to prevent overfitting.",
        "",
        "I don't know",
    ]
    assert saved["turns"][2]["feedback"]["verdict"] == "dont_know" and saved["summary"]["answered"] == 3
    assert saved["turns"][0]["question"]["text"] in md.read_text()

    # leaving half-way saves; --resume picks up the question that was waiting
    first = rag("interview", "--n", "2", "--index", str(shipped_index), input="/quit\n", env=env)
    session_id = first.stdout.split("--resume ")[1].split()[0]
    waiting = first.stdout.split("Q1/2")[1].splitlines()[1]
    again = rag("interview", "--resume", session_id, "--index", str(shipped_index), input="a\nb\n", env=env)
    assert again.returncode == 0 and waiting in again.stdout and again.stdout.count("Model answer") == 2
    bad = rag("interview", "--topic", "no such topic anywhere", "--index", str(shipped_index), env=env)
    assert (
        bad.returncode == 1 and "no questions match topic" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    )


def test_terminal_escape_sequences_in_notes_never_reach_the_terminal(tmp_path, notes_dir, cli_env):
    from fake_llm import FakeLLM

    write(
        notes_dir,
        "colours.md",
        "# Okapi \x1b[31mred\x1b[0m gradients\nThe okapi gradient \x1b]0;pwned\x07steps twice per quokka.\n",
    )
    index = tmp_path / "idx"
    assert rag("ingest", str(notes_dir), "--index", str(index), env=cli_env).returncode == 0
    chunks = "".join(p.read_text() for p in index.rglob("chunks.jsonl"))
    assert "okapi gradient" in chunks and "\\u001b" not in chunks and "\\u0007" not in chunks and "pwned" not in chunks
    shown = rag("retrieve", "okapi gradient quokka", "--index", str(index), env=cli_env)
    assert "okapi gradient" in shown.stdout and "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    # a model quoting escape sequences (or an index built before they were stripped) is cleaned on output
    with FakeLLM("The okapi \x1b[2J\x1b]0;pwned\x07gradient steps twice [1].") as llm:
        env = {**cli_env, "RAG_LLM_BASE_URL": llm.base_url}
        asked = rag("ask", "What is the okapi gradient?", "--index", str(index), env=env)
        chatted = rag("chat", "--index", str(index), env=env, input="What is the okapi gradient?\n/quit\n")
    for result in (asked, chatted):
        assert "gradient steps twice" in result.stdout, result.stderr
        assert (
            "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stdout and "pwned" not in result.stdout
        )


def test_sources_list_each_section_once_with_a_legend_and_chat_shows_what_was_cited(shipped_index, cli_env):
    from fake_llm import FakeLLM

    # the notes' own words, so that the answer stands whatever checks it against them
    reply = (
        "Batch normalization is a technique used in neural networks to normalize the inputs of each layer "
        "[1]. By normalizing the inputs, batch normalization can improve the training speed and stability of "
        "the neural network [2]."
    )
    with FakeLLM(reply) as llm:
        env = {**cli_env, "RAG_LLM_BASE_URL": llm.base_url}
        asked = rag("ask", "What does batch normalization do?", "-k", "5", "--index", str(shipped_index), env=env)
        chatted = rag(
            "chat",
            "-k",
            "5",
            "--index",
            str(shipped_index),
            env=env,
            input="What does batch normalization do?\n/sources\n/quit\n",
        )
    assert asked.returncode == 0, asked.stderr
    sources = asked.stdout.split("Sources", 1)[1]
    assert "[n] cited in the answer · (n) retrieved, not cited" in sources
    lines = [line for line in sources.splitlines() if " > " in line]
    sections = [line.split(" > ", 1)[1] for line in lines]
    assert len(sections) == len(set(sections)) and len(lines) < 5  # five passages, fewer sections
    assert (
        re.match(r"\[1\]( [\[(]\d[\])])+ ", lines[0]) and "Batch Normalization" in lines[0]
    )  # one section, its numbers together
    # rag chat: the cited sections right after the answer; everything retrieved on /sources
    _, answered, listed, _ = chatted.stdout.split("you> ")
    assert "Cited" in answered and "[1]" in answered and "(" not in answered.split("Cited", 1)[1].replace("(n)", "")
    assert "Sources" in listed and "(" in listed.split("Sources", 1)[1].replace("(n)", "")


def test_status_sees_a_server_it_did_not_start(tmp_path, notes_dir, cli_env):
    from fake_llm import FakeLLM

    write(notes_dir, "a.md", "# A\ntext\n")
    index = str(tmp_path / "idx")
    assert rag("ingest", str(notes_dir), "--index", index, env=cli_env).returncode == 0
    with FakeLLM("unused") as llm:  # answers at the configured URL; no pid record from `rag serve`
        env = {**cli_env, "RAG_LLM_BASE_URL": llm.base_url}
        human = rag("status", "--index", index, env=env)
        data = json.loads(rag("status", "--index", index, "--json", env=env).stdout)
    assert f"answering at {llm.base_url}" in human.stdout and "not running" not in human.stdout
    assert data["server"] == {"pid": None, "url": llm.base_url, "answering": True}
    assert "not running" in rag("status", "--index", index, env=cli_env).stdout  # nothing at the dead URL


def test_the_terminal_shows_formulas_as_unicode_and_no_emphasis_marks():
    from rag.frontends.cli.console import terminal_text

    shown = terminal_text("**What it Measures**: *the purity* of a node, $x_1^2$; 2 * 3 = 6 in `__init__`")
    assert shown == "What it Measures: the purity of a node, x₁²; 2 * 3 = 6 in `__init__`"
