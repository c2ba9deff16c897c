"""Issue #22, as a new user met it on the command line: bad input said in one line (by the API, so every
front end says it), an empty or missing notes folder, `--source` and `--tag` that name nothing, `rag chat`
with the LLM down or interrupted, what `rag watch` and the automatic ingest say, and the vLLM server's
processes outliving it. Real FAISS, the packaged embedding model, the fake LLM where the LLM is not under
test; no vLLM (a stand-in process group goes through the same start and stop code)."""

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fake_llm import FakeLLM
from helpers import RAG, free_port, rag, write

from rag import Assistant, LLMUnavailable, Settings
from rag.errors import BadRequest, IndexWriteError, NoNotes, NotesFolderError, ServerError
from rag.library.watch import NotesWatcher
from rag.llm import vllm_server as server

DROPOUT = "# Dropout\nDropout randomly zeroes activations during training.\n"
ATTENTION = (
    "---\ntags: [transformers, nlp]\n---\n# Attention\nScaled dot-product attention divides by the root of d_k.\n"
)


def one_line_error(result, *words: str) -> None:
    """Exit 1, and stderr is exactly one `error:` line holding each of `words`: no traceback."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert all(w in lines[0] for w in words), lines[0]


@pytest.fixture
def vault(make_assistant, notes_dir) -> Assistant:
    write(notes_dir, "a.md", DROPOUT)
    write(notes_dir, "deep/attention.md", ATTENTION)
    a = make_assistant()
    a.ingest()
    return a


# ---- 1. an empty question ---------------------------------------------------------------------------


def test_an_empty_question_is_one_line_from_the_api(vault):
    for blank in ("", "   "):
        with pytest.raises(BadRequest, match="^ask a question: the text is empty$"):
            vault.ask(blank)
        with pytest.raises(BadRequest):  # before anything streams
            vault.stream_chat([{"role": "user", "content": "What is dropout?"}, {"role": "user", "content": blank}])
        with pytest.raises(BadRequest):
            vault.retrieve(blank)
    with pytest.raises(BadRequest):
        vault.stream_chat([{"role": "user", "content": [{"type": "text", "text": " "}]}])


def test_rag_ask_with_an_empty_question_says_so_in_one_line(tmp_path, notes_dir, cli_env):
    write(notes_dir, "a.md", DROPOUT)
    for blank in ("", "   "):
        asked = rag("ask", blank, "--notes", str(notes_dir), "--index", str(tmp_path / "idx"), env=cli_env)
        one_line_error(asked, "ask a question: the text is empty")
    assert not (tmp_path / "idx").exists()  # checked before anything was ingested


# ---- 2. an index path that is a file ----------------------------------------------------------------------


def test_an_index_path_that_is_a_file_is_one_line(tmp_path, notes_dir, make_assistant, cli_env):
    write(notes_dir, "a.md", DROPOUT)
    taken = write(tmp_path, "index-file", "not a folder")
    with pytest.raises(IndexWriteError, match="is a file, not a folder"):
        make_assistant(index_dir=taken).ingest()
    one_line_error(rag("ingest", str(notes_dir), "--index", str(taken), env=cli_env), "is a file", "--index")
    assert taken.read_text() == "not a folder"


# ---- 3. an empty or missing notes folder ------------------------------------------------------------------


def test_an_empty_notes_folder_is_an_error_that_does_not_send_the_user_back_to_ingest(
    tmp_path, make_assistant, notes_dir, cli_env
):
    with pytest.raises(NoNotes, match="no notes in it"):  # the API: not "no index yet; build it with rag ingest"
        make_assistant().retrieve("dropout")
    index = str(tmp_path / "idx")
    ingested = rag("ingest", str(notes_dir), "--index", index, env=cli_env)
    one_line_error(ingested, "no notes in it", ".md", "add notes there")
    assert "Up to date" not in ingested.stdout
    asked = rag("ask", "What is dropout?", "--notes", str(notes_dir), "--index", index, env=cli_env)
    one_line_error(asked, "no notes in it")
    assert "no index yet" not in asked.stderr
    write(notes_dir, "broken.md", b"\x00\x01binary")  # only a note that cannot be read: said why
    ingested = rag("ingest", str(notes_dir), "--index", index, env=cli_env)
    assert ingested.returncode == 1 and "broken.md: binary data" in ingested.stderr
    assert ingested.stderr.strip().splitlines()[-1].startswith("error: ") and "no notes in it" in ingested.stderr
    asked = rag("ask", "What is dropout?", "--notes", str(notes_dir), "--index", index, env=cli_env)
    one_line_error(asked, "no notes in it", "broken.md: binary data")


def test_a_missing_notes_folder_is_said_as_such_not_as_no_index_yet(tmp_path, make_assistant, cli_env):
    missing = tmp_path / "nonexistent"
    with pytest.raises(NoNotes, match="notes folder not found") as raised:
        make_assistant(notes_dir=missing).retrieve("dropout")
    assert isinstance(raised.value, NotesFolderError)  # and an IndexMissing: the UI's "no index" path says it
    asked = rag("ask", "What is dropout?", "--notes", str(missing), env=cli_env)
    one_line_error(asked, str(missing), "notes folder not found")
    assert "no index yet" not in asked.stderr


# ---- 4. k out of range -----------------------------------------------------------------------------------


def test_k_out_of_range_is_refused_by_the_api(vault, tmp_path, cli_env):
    for k in (0, -1, 51):
        with pytest.raises(BadRequest, match=f"k = {k} passages is out of range; ask for 1 to 50"):
            vault.retrieve("dropout", k=k)
        with pytest.raises(BadRequest):
            vault.stream("What is dropout?", k=k)
    assert len(vault.retrieve("dropout", k=50)) == 2  # every passage there is, no error
    retrieved = rag("retrieve", "dropout", "-k", "0", "--index", str(vault.index_dir), env=cli_env)
    one_line_error(retrieved, "k = 0")
    asked = rag("ask", "What is dropout?", "-k", "-1", "--index", str(vault.index_dir), env=cli_env)
    one_line_error(asked, "k = -1")


# ---- 5. --source and --tag ---------------------------------------------------------------------------------


def test_a_source_is_a_name_a_path_in_the_notes_or_a_folder(vault, notes_dir):
    attention = lambda **scope: {h.source for h in vault.retrieve("attention dropout", k=5, **scope)}
    for name in ("attention.md", "attention", "deep/attention.md", "deep/attention", "deep", "deep/", "./deep"):
        assert attention(sources=[name]) == {"deep/attention.md"}, name
    assert attention(sources=[str(notes_dir / "deep" / "attention.md")]) == {"deep/attention.md"}  # as completed
    assert attention(sources=["a.md", "deep"]) == {"a.md", "deep/attention.md"}
    assert attention(tags=["#NLP"]) == {"deep/attention.md"}


def test_an_unknown_source_or_tag_is_an_error_naming_the_closest(vault):
    with pytest.raises(BadRequest, match=r"no note or folder 'atention.md' in the notes; closest: deep/attention.md$"):
        vault.retrieve("attention", sources=["atention.md"])
    with pytest.raises(BadRequest, match=r"no note or folder 'nonexist.md' in the notes; notes are named like a.md"):
        vault.retrieve("attention", sources=["nonexist.md"])
    with pytest.raises(BadRequest, match=r"no note has the tag 'transformer'; closest: transformers$"):
        vault.retrieve("attention", tags=["transformer"])
    with pytest.raises(BadRequest, match=r"no note has the tag 'nosuchtag'; the tags are nlp, transformers$"):
        vault.retrieve("attention", tags=["nosuchtag"])
    with pytest.raises(BadRequest, match="closest: deep/attention.md"):  # through the answer path too
        vault.ask("What is attention?", sources=["atention.md"])


def test_rag_retrieve_and_ask_take_a_notes_name_and_refuse_an_unknown_one(vault, cli_env):
    index = str(vault.index_dir)
    found = rag("retrieve", "attention", "--source", "attention.md", "--index", index, env=cli_env)
    assert found.returncode == 0 and "deep/attention.md" in found.stdout, found.stderr
    one_line_error(
        rag("retrieve", "attention", "--source", "nonexist.md", "--index", index, env=cli_env), "'nonexist.md'"
    )
    one_line_error(
        rag("ask", "What is attention?", "--tag", "nosuchtag", "--index", index, env=cli_env), "'nosuchtag'", "nlp"
    )


# ---- 6. rag chat --------------------------------------------------------------------------------------------


def test_chat_with_the_llm_down_keeps_the_shown_answer_for_the_follow_up(shipped_index, cli_env):
    from rag.answer.compose import NOT_COVERED

    script = "What is dropout?\nWhy does it help?\n/foo\n/sources\n/quit\n"
    result = rag("chat", "--index", str(shipped_index), env=cli_env, input=script)
    assert result.returncode == 0, result.stderr
    _, first, follow_up, unknown, listed, _ = result.stdout.split("you> ")
    assert "dropout" in first.lower() and NOT_COVERED not in first
    assert "dropout" in follow_up.lower() and NOT_COVERED not in follow_up  # "it" is dropout
    assert "unknown command /foo" in unknown and "/sources" in unknown and "/reset" in unknown
    assert "Sources" in listed


class SlowLLM(FakeLLM):
    """The fake LLM, holding its first reply until `release` is set: an answer can be interrupted."""

    def __init__(self, reply: str):
        super().__init__(reply)
        self.asked, self.release = threading.Event(), threading.Event()
        slow, scripted = self, self.server.RequestHandlerClass

        class Held(scripted):
            def do_POST(self):
                slow.asked.set()
                slow.release.wait(120)
                super().do_POST()

        self.server.RequestHandlerClass = Held


def test_ctrl_c_during_an_answer_cancels_it_and_the_chat_goes_on(shipped_index, cli_env):
    reply = "A dropout layer is a regularization method used to prevent overfitting [1]."
    with SlowLLM(reply) as llm:
        chat = subprocess.Popen(
            [RAG, "chat", "--index", str(shipped_index)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **cli_env, "RAG_LLM_BASE_URL": llm.base_url},
        )
        try:
            chat.stdin.write("What is dropout?\n")
            chat.stdin.flush()
            assert llm.asked.wait(240), "the question never reached the LLM"
            chat.send_signal(signal.SIGINT)  # Ctrl-C while the model writes
            time.sleep(1)
            llm.release.set()
            stdout, stderr = chat.communicate("What is dropout?\n/quit\n", timeout=240)
        finally:
            llm.release.set()
            chat.kill()
    assert chat.returncode == 0, stderr
    assert "answer cancelled" in stderr and "Traceback" not in stderr
    assert stdout.count(reply) == 1  # the second question was answered
    assert [m["role"] for m in llm.requests[-1]["messages"]].count("assistant") == 0  # the cancelled turn is gone


# ---- 7 and 9. what the watcher and the automatic ingest say --------------------------------------------


def test_the_watcher_says_a_skipped_note_and_broken_front_matter_once_and_reports_progress(make_assistant, notes_dir):
    write(notes_dir, "a.md", DROPOUT)
    a = make_assistant(auto_ingest=False)
    notices, progress, ingested, errors = queue.Queue(), queue.Queue(), queue.Queue(), []
    watcher = NotesWatcher(
        a,
        on_ingest=ingested.put,
        on_error=errors.append,
        on_notice=notices.put,
        on_progress=lambda notes, stage, done, total: progress.put((notes, stage, done, total)),
    )
    watcher.start()
    try:
        assert watcher.ready.wait(60) and ingested.get(timeout=10).added == 1
        write(notes_dir, "big.md", "# Big\n" + "Dropout zeroes activations at random. " * 400)
        ingested.get(timeout=60)
        seen = [progress.get() for _ in range(progress.qsize())]
        embedding = [
            (done, total) for notes, stage, done, total in seen if stage == "embedding" and notes == ["big.md"]
        ]
        assert embedding[0][0] == 0 and embedding[-1][0] == embedding[-1][1] > 1  # from the start, naming the note
        write(notes_dir, "a.md", b"\x00\x01 binary now")
        assert notices.get(timeout=60).startswith("a.md: binary data")
        assert "kept the chunks" in notices.get(timeout=10)
        write(notes_dir, "c.md", "---\ntags: [a\n---\n# C\nText.\n")  # an edit elsewhere: a.md is not said again
        assert notices.get(timeout=60).startswith("c.md: broken front matter")
        ingested.get(timeout=10)
        assert notices.empty()
    finally:
        watcher.stop()
    assert errors == []


def test_the_watcher_says_an_empty_folder_once_and_indexes_the_first_note(make_assistant, notes_dir):
    notices, ingested, errors = queue.Queue(), queue.Queue(), []
    a = make_assistant(auto_ingest=False)
    watcher = NotesWatcher(a, on_ingest=ingested.put, on_error=errors.append, on_notice=notices.put).start()
    try:
        assert "no notes yet" in notices.get(timeout=60)
        write(notes_dir, "b.txt", "")  # a change that brings no note: only the new problem is said
        assert notices.get(timeout=60).startswith("b.txt: empty file")
        write(notes_dir, "a.md", DROPOUT)
        assert ingested.get(timeout=60).added == 1
        assert notices.empty()
    finally:
        watcher.stop()
    assert errors == []


def test_rag_watch_prints_progress_for_a_big_note_and_a_line_for_a_note_turned_binary(notes_dir, tmp_path, cli_env):
    write(notes_dir, "a.md", DROPOUT)
    watching = subprocess.Popen(
        [RAG, "watch", "--notes", str(notes_dir), "--index", str(tmp_path / "idx")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **cli_env},
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in watching.stdout], daemon=True).start()

    def wait_for(text: str, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r}")

    try:
        wait_for("index updated")
        # 320+ chunks: past the point where the watcher says what it embeds
        write(notes_dir, "huge.md", "".join(f"## Part {i}\n" + "Dropout zeroes activations. " * 40 for i in range(340)))
        assert "chunks of huge.md…" in wait_for("embedding ")
        wait_for("index updated")
        write(notes_dir, "a.md", b"\x00\x01 binary now")
        wait_for("a.md: binary data")
    finally:
        watching.send_signal(signal.SIGINT)
        watching.wait(30)


def test_auto_ingest_shows_the_broken_front_matter_warning(notes_dir, cli_env):
    write(notes_dir, "a.md", "---\ntags: [ml\n---\n" + DROPOUT)
    result = rag("retrieve", "dropout", "--notes", str(notes_dir), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "index updated" in result.stderr and "warning a.md: broken front matter" in result.stderr


# ---- 8. the vLLM server's processes ------------------------------------------------------------------------

# A stand-in for vLLM: a main process that starts a child (as vLLM starts its engine core and worker), both
# running until stopped.
STAND_IN = (
    "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); "
    "time.sleep(300)"
)


@pytest.fixture
def stand_in(tmp_path, monkeypatch) -> Settings:
    """Settings whose `rag serve` starts the stand-in through the real start code (its own cache and port)."""
    monkeypatch.setattr(server, "command", lambda *_: ([sys.executable, "-c", STAND_IN], dict(os.environ)))
    settings = Settings(cache_dir=tmp_path / "cache", server_port=free_port(), llm_model=str(tmp_path))
    yield settings
    server.stop(settings, timeout=5)


def stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the name (state, parent, group, …); None once the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def running(pid: int) -> bool:
    return (fields := stat(pid)) is not None and fields[0] != "Z"


def started(settings: Settings) -> tuple[server.ServerState, int]:
    """The stand-in started through `start`, and its child's pid once that runs."""
    state = server.start(settings, wait=False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = [
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and (stat(int(p.name)) or [0, 0])[1] == str(state.pid)
        ]
        if children:
            return state, children[0]
        time.sleep(0.1)
    raise AssertionError("the stand-in started no child")


def killed(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def test_stop_ends_the_whole_process_group(stand_in):
    state, child = started(stand_in)
    assert server.stop(stand_in, timeout=5).pid == state.pid
    assert not running(state.pid) and not running(child)


def test_what_a_dead_server_left_is_found_said_and_stopped(stand_in, cli_env):
    state, child = started(stand_in)
    killed(state.pid)  # the main process dies; its engine and worker would stay
    env = {**cli_env, "RAG_CACHE_DIR": str(stand_in.cache_dir)}
    status = rag("serve", "--status", env=env)  # no --port: found from the record
    assert status.returncode == 1 and f"pid {child}" in status.stdout and "rag serve --stop" in status.stdout
    assert server.read_state(stand_in) is None
    left = server.leftovers(stand_in)
    assert left.pids == [child] and f"left by a vLLM server on port {stand_in.server_port} that died" in str(left)
    shown = rag("status", env={**env, "RAG_SERVER_PORT": str(stand_in.server_port)}).stdout
    assert f"1 process left by a vLLM server on port {stand_in.server_port}" in shown
    stopped = rag("serve", "--stop", env=env)
    assert stopped.returncode == 0 and f"stopped 1 process left by a vLLM server on port {stand_in.server_port}" in (
        stopped.stdout
    )
    assert not running(child)
    assert rag("serve", "--status", env=env).stdout.strip() == "not running"


def test_a_start_ends_what_a_dead_server_left_first(stand_in):
    from rich.console import Console

    state, child = started(stand_in)
    killed(state.pid)
    console = Console(record=True, width=200)
    again = server.start(stand_in, console=console, wait=False)  # as autostart does
    assert not running(child) and "ended 1 process left by a vLLM server" in console.export_text()
    assert server.read_state(stand_in).pid == again.pid


def test_stop_without_a_port_finds_the_server_from_its_record(stand_in, tmp_path):
    state, child = started(stand_in)
    a = Assistant(notes_dir=tmp_path, cache_dir=stand_in.cache_dir)  # server_port: the default, 8000
    assert a.server_status(any_port=True)[0].pid == state.pid
    assert a.stop_server(any_port=True).pid == state.pid
    assert not running(child)
    other = stand_in.model_copy(update={"server_port": free_port()})
    started(stand_in)
    started(other)
    try:
        with pytest.raises(ServerError, match="say which with --port"):
            a.stop_server(any_port=True)
    finally:
        server.stop(other, timeout=5)


def test_the_hint_for_an_endpoint_on_another_port_names_the_port(tmp_path):
    port = free_port()
    a = Assistant(notes_dir=tmp_path, llm_base_url=f"http://127.0.0.1:{port}/v1", llm_autostart=False)
    with pytest.raises(LLMUnavailable, match=f"start one with `rag serve --port {port}`"):
        a.ensure_llm()
    default = Assistant(notes_dir=tmp_path, llm_autostart=False)
    if not default.llm.is_up():
        with pytest.raises(LLMUnavailable, match="start one with `rag serve`$"):
            default.ensure_llm()
