"""The `rag` command line: the Python API, one command per method."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ingest.control_chars import strip_control

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from rag.types import Answer

# Everything else is imported by the command that uses it: `rag --help` loads no settings, index or
# model code, `rag status` no retrieval, `rag retrieve` no LLM client (tests/test_speed.py).

app = typer.Typer(help="Answers over your own ML notes with a local LLM, with sources.", no_args_is_help=True, add_completion=False)
model_app = typer.Typer(help="The local LLM's files.", no_args_is_help=True)
app.add_typer(model_app, name="model")


class NoteConsole(Console):
    """Notes (and a model quoting them) may hold terminal escape sequences: printed text goes out
    without control characters, so a note cannot recolour, retitle or clear the user's terminal."""

    def print(self, *objects, **kwargs) -> None:
        super().print(*(strip_control(o) if isinstance(o, str) else o for o in objects), **kwargs)


# soft_wrap: a message is one line however narrow the terminal or pipe; let the terminal wrap it
out = NoteConsole(soft_wrap=True)
err = NoteConsole(stderr=True, soft_wrap=True)

EXIT_LLM_DOWN = 3  # `ask` printed passages only: no LLM could be reached or started

IndexOpt = Annotated[Optional[Path], typer.Option("--index", help="Index folder (default: per notes folder under the cache).")]
NotesOpt = Annotated[Optional[Path], typer.Option("--notes", help="Notes folder (default: notes_dir setting).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
TopK = Annotated[Optional[int], typer.Option("-k", "--top-k", help="How many passages to retrieve.")]
SourceOpt = Annotated[Optional[list[str]], typer.Option("--source", help="Only this note (repeatable).")]
TagOpt = Annotated[Optional[list[str]], typer.Option("--tag", help="Only notes with this tag (repeatable).")]
AnswerModeOpt = Annotated[
    Optional[str], typer.Option("--mode", help="verified (default: every sentence checked against the notes), extractive (the notes' own sentences, no LLM) or raw (unchecked).")
]


def _assistant(notes: Path | None = None, index: Path | None = None, **overrides) -> Assistant:
    from pydantic import ValidationError

    from rag.assistant import Assistant

    try:
        return Assistant(notes_dir=notes, index_dir=index, **{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        problem = e.errors()[0]
        _fail(f"setting {'.'.join(map(str, problem['loc']))}: {problem['msg']} (check the flag, rag.toml or RAG_* variable)")


def _input_errors() -> tuple[type[Exception], ...]:
    """What a command reports as one line: a missing notes folder, an index to rebuild. An `except` clause
    evaluates this only when something was raised."""
    from ingest.documents import NotesFolderError
    from ingest.store import IndexProblem

    return NotesFolderError, IndexProblem


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _progress(disable: bool = False) -> Progress:
    """A bar on stderr while long work runs; off when stderr is not a terminal (logs, pipes)."""
    columns = (TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=err, transient=True, disable=disable or not err.is_terminal)


def _bar_updates(bar: Progress):
    """An ingest progress callback drawing one bar per stage (reading, embedding, writing)."""
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return update


def _updated(stats) -> str:
    """The one line an automatic or watched ingest prints."""
    line = f"index updated: {stats.summary()}"
    if stats.skipped:
        line += f"; skipped {', '.join(s.source for s in stats.skipped)} (`rag ingest` says why)"
    return line


def _sync(a: Assistant) -> None:
    """auto_ingest: a stale or missing index is brought up to date before it is used, with the usual bar
    and one line on stderr; nothing is shown when it was current."""
    with _progress() as bar:
        stats = a.ensure_index(progress=_bar_updates(bar))
    if stats is not None and stats.changed:
        err.print(f"[cyan]{escape(_updated(stats))}[/]", highlight=False)


def _where(path: str, source: str, line: int) -> str:
    """`notes/file.md:120`, which terminals and editors open at the line; the bare name without a path."""
    from rag.links import location

    return location(path, line) if path else source


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@app.command()
def ingest(
    notes_dir: Annotated[Optional[Path], typer.Argument(help="Notes folder (default: notes_dir setting).")] = None,
    index: IndexOpt = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Embed everything again.")] = False,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for another running ingest.")] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Read the notes folder and update the index; only changed files are embedded again."""
    a = _assistant(notes_dir, index)
    try:
        with _progress(disable=as_json) as bar:
            stats = a.ingest(rebuild=rebuild, progress=_bar_updates(bar), lock_wait_seconds=wait)
    except _input_errors() as e:
        _fail(str(e))
    if as_json:
        _print_json({**stats.to_json(), "index_dir": str(a.index_dir)})
    else:
        for skipped in stats.skipped:
            err.print(f"[yellow]{escape(str(skipped))}[/]")  # the reason says "skipped" and why
        for warning in stats.warnings:
            err.print(f"[yellow]warning[/] {escape(warning)}")
        if stats.rebuilt_because:
            err.print(f"[cyan]rebuilt:[/] {escape(stats.rebuilt_because)}")
        verb = "Indexed" if stats.changed else "Up to date:"
        out.print(f"{verb} {stats.summary()} → {a.index_dir}")
    if stats.files == 0:
        raise typer.Exit(1)


@app.command()
def retrieve(
    question: str,
    k: TopK = None,
    index: IndexOpt = None,
    notes: NotesOpt = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the passages the assistant would use, with scores (no LLM)."""
    a = _assistant(notes, index)
    try:
        _sync(a)
        hits = a.retrieve(question, k=k, sources=source, tags=tag)
    except _input_errors() as e:
        _fail(str(e))
    if as_json:
        _print_json([h.to_json() for h in hits])
        return
    if not hits:
        out.print("Nothing in the notes matches.")
    for h in hits:
        out.print(f"[bold]{h.rank}.[/] [cyan]{escape(_where(h.path, h.source, h.chunk.line_start))}[/] › {escape(h.heading)}  [dim]score {h.score:.4f} · lines {h.chunk.line_start}-{h.chunk.line_end}[/]", highlight=False)
        out.print(escape(h.text.strip()[:600]), highlight=False)
        out.print()


@app.command()
def status(index: IndexOpt = None, notes: NotesOpt = None, as_json: JsonOpt = False) -> None:
    """Files, chunks, models and the last ingest; and whether the local server runs."""
    a = _assistant(notes, index)
    try:
        info = a.status()
    except _input_errors() as e:
        _fail(str(e))
    from rag import server

    # the pid record says what `rag serve` started; the endpoint says what answers (a server started
    # by hand, by another checkout or on another machine counts too)
    running = server.read_state(a.settings)
    answering = server.healthy(running.host, running.port) if running else a.llm.is_up()
    url = running.base_url if running else a.settings.llm_base_url
    if running:
        info["server"] = {"pid": running.pid, "port": running.port, "model": running.model, "url": url, "answering": answering}
    else:
        info["server"] = {"pid": None, "url": url, "answering": True} if answering else None
    if as_json:
        _print_json(info)
        return
    table = Table(show_header=False, box=None)
    for key in ("notes_dir", "index_dir", "indexed", "files", "chunks", "embedding_model", "index_type", "llm_model", "llm_base_url"):
        if key in info:
            table.add_row(key, escape(str(info[key])))
    if info.get("last_ingest"):
        import datetime as dt

        table.add_row("last_ingest", dt.datetime.fromtimestamp(info["last_ingest"]).isoformat(timespec="seconds"))
    if running:
        table.add_row("server", f"pid {running.pid} on {running.host}:{running.port} ({'answering' if answering else 'not answering'})")
    else:
        table.add_row("server", escape(f"answering at {url} (not started by `rag serve`)") if answering else "not running")
    out.print(table)


def _print_sources(answer: Answer, cited_only: bool = False) -> None:
    """One line per section (its passages' numbers together), cited sections first, under a legend."""
    from rag.source_groups import LEGEND, group_sources

    groups = group_sources(answer.sources, cited_only)
    if not groups:
        return
    out.print(f"\n[bold]{'Cited' if cited_only else 'Sources'}[/]  [dim]{escape(LEGEND)}[/]")
    for g in groups:
        style = "green" if g.cited else "dim"
        out.print(f"[{style}]{escape(g.marks)} {escape(_where(g.path, g.source, g.line_start))} > {escape(g.heading)}[/]", highlight=False)


def _stream_answer(pieces, as_json: bool) -> Answer:
    """The model's draft streams into a view that is erased when it ends; the checked answer is then
    printed once (in a pipe, only the checked answer)."""
    from contextlib import nullcontext

    from rich.live import Live
    from rich.text import Text

    from rag.types import Answer

    answer = None
    draft: list[str] = []
    live = Live(console=out, transient=True, auto_refresh=False) if not as_json and out.is_terminal else None
    with live or nullcontext():
        for piece in pieces:
            if isinstance(piece, Answer):
                answer = piece
            elif live is not None:
                draft.append(piece)
                # labelled: a small model's draft can be anything, even the previous answer copied
                live.update(Text.assemble(("draft, being checked against your notes…\n", "dim italic"), ("".join(draft), "dim")), refresh=True)
    if not as_json:
        out.print(answer.text, highlight=False, markup=False)
        if answer.unsupported and answer.mode == "generated":
            err.print("[yellow]left out, not found in your notes:[/]")
            for sentence in answer.unsupported:
                err.print(f"  [dim]- {escape(sentence)}[/]", highlight=False)
    return answer


def _how_made(answer: Answer, with_mode: bool = True) -> None:
    """How the answer was made (not under --json, which says it), and any notice, under it."""
    from rag.answering import how_made

    line = how_made(answer.mode, answer.claims)
    if with_mode and line and not answer.error:
        err.print(f"[dim]({answer.mode}: {line})[/]")
    if answer.notice:
        err.print(f"[cyan]note:[/] {escape(answer.notice)}")


def _report(answer: Answer, as_json: bool) -> int:
    if as_json:
        _print_json(answer.to_json())
    else:
        if answer.invalid_citations:
            err.print(f"[yellow]removed citations to blocks that were not given: {answer.invalid_citations}[/]")
        _print_sources(answer)
    _how_made(answer, with_mode=not as_json)
    if not answer.llm_used and answer.error:
        err.print(f"[yellow]LLM unavailable — answered from the notes' own sentences only:[/] {escape(answer.error)}")
        return EXIT_LLM_DOWN
    if answer.error:
        err.print(f"[red]error:[/] {escape(answer.error)} (the text above is partial)")
        return 1
    return 0


@app.command()
def ask(
    question: str,
    k: TopK = None,
    index: IndexOpt = None,
    notes: NotesOpt = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    no_autostart: Annotated[bool, typer.Option("--no-autostart", help="Never start the local server.")] = False,
    mode: AnswerModeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer from your notes with the LLM, streaming, then list the sources."""
    a = _assistant(notes, index, answer_mode=mode)
    try:
        _sync(a)
        pieces = a.stream(question, k=k, sources=source, tags=tag, autostart=False if no_autostart else None, console=err)
        answer = _stream_answer(pieces, as_json)
    except _input_errors() as e:
        _fail(str(e))
    raise typer.Exit(_report(answer, as_json))


@app.command()
def chat(index: IndexOpt = None, notes: NotesOpt = None, k: TopK = None, mode: AnswerModeOpt = None) -> None:
    """A conversation in the terminal. /sources, /reset, /quit."""
    a = _assistant(notes, index, answer_mode=mode)
    history: list[dict] = []
    last: Answer | None = None
    out.print("[dim]Ask about your notes. Each answer lists what it cited; /sources shows everything retrieved, /reset starts over, /quit leaves.[/]")
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return
        if line == "/reset":
            history, last = [], None
            out.print("[dim]Conversation cleared.[/]")
            continue
        if line == "/sources":
            if last:
                _print_sources(last)
            else:
                out.print("[dim]No answer yet.[/]")
            continue
        history.append({"role": "user", "content": line})
        try:
            _sync(a)
            last = _stream_answer(a.stream_chat(history, k=k, console=err), as_json=False)
        except _input_errors() as e:
            _fail(str(e))
        if not last.error:
            history.append({"role": "assistant", "content": last.text})
            _print_sources(last, cited_only=True)  # the rest of what was retrieved: /sources
            _how_made(last)
        else:
            _report(last, as_json=False)
            history.pop()  # a failed turn is not part of the conversation


@app.command()
def serve(
    model: Annotated[Optional[str], typer.Option("--model", help="HF model folder or name (default: llm_model).")] = None,
    port: Annotated[Optional[int], typer.Option("--port")] = None,
    host: Annotated[Optional[str], typer.Option("--host", help="Bind address; 127.0.0.1 unless you mean it.")] = None,
    show_status: Annotated[bool, typer.Option("--status", help="Is it running?")] = False,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the server this tool started.")] = False,
) -> None:
    """Start vLLM's OpenAI-compatible server for the local model, wait until it is healthy, and leave it running."""
    from rag import server
    from rag.model_prep import ModelPrepError
    from rag.settings import Settings

    settings = Settings(**{k: v for k, v in {"llm_model": model, "server_port": port, "server_host": host}.items() if v is not None})
    if show_status:
        state = server.read_state(settings)
        if state is None:
            out.print("not running")
            raise typer.Exit(1)
        health = "healthy" if server.healthy(state.host, state.port) else "not answering"
        out.print(f"running: pid {state.pid}, {state.model} on http://{state.host}:{state.port}/v1 ({health}); log {state.log}")
        return
    if stop:
        state = server.stop(settings)
        out.print(f"stopped pid {state.pid}" if state else "not running")
        return
    try:
        state = server.start(settings, console=err)
    except (server.ServerError, ModelPrepError) as e:
        _fail(str(e))
    out.print(f"vLLM serving {state.model} at {state.base_url} (pid {state.pid}, log {state.log})")


def _show_feedback(fb) -> None:
    label = "" if fb.verdict == "graded" else f" [dim]({fb.verdict.replace('_', ' ')})[/]"
    color = "green" if fb.score >= 7 else "yellow" if fb.score >= 4 else "red"
    out.print(f"[bold {color}]Score {fb.score}/10[/]{label}")
    for k in fb.covered:
        out.print(f"  [green]✓[/] {escape(k.text)} [dim]— {escape(k.cite)}[/]", highlight=False)
    for k in fb.missed:
        out.print(f"  [red]✗[/] {escape(k.text)} [dim]— {escape(k.cite)}[/]", highlight=False)
    out.print(f"[bold]Model answer[/] (from your notes): {escape(fb.model_answer)}", highlight=False)


@app.command()
def interview(
    topic: Annotated[Optional[str], typer.Option("--topic", help="Only concepts whose heading, term or file contains this.")] = None,
    n: Annotated[int, typer.Option("--n", help="How many questions.")] = 5,
    mode: Annotated[str, typer.Option("--mode", help="concepts (your ML notes) or company (your interview-prep notes).")] = "concepts",
    difficulty: Annotated[Optional[str], typer.Option("--difficulty", help="easy, medium or hard.")] = None,
    phrasing: Annotated[str, typer.Option("--phrasing", help="auto (the LLM if it is up), llm, or template.")] = "auto",
    resume: Annotated[Optional[str], typer.Option("--resume", help="Continue a saved session by its id.")] = None,
    export: Annotated[Optional[Path], typer.Option("--export", help="Also write the transcript as Markdown here.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Same seed, same questions (for a given history).")] = None,
    export_anki: Annotated[Optional[Path], typer.Option("--export-anki", help="Write the concepts (of --topic, or all) as an Anki deck (.apkg) instead of asking.")] = None,
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """A mock interview from your notes: one line per answer, graded with cited feedback. /skip, /quit."""
    from rag.interview.session import InterviewError

    a = _assistant(notes, index)
    try:
        _sync(a)
        if export_anki:
            deck = a.export_anki(export_anki, topic=topic)
            out.print(f"{deck.cards} card{'s' * (deck.cards != 1)} in deck {escape(deck.deck)} → {deck.path} (import it in Anki; exporting again updates these cards)")
            return
        session = a.interview(topic=topic, n=n, mode=mode, difficulty=difficulty, phrasing=phrasing, seed=seed, resume=resume)
        out.print(f"[dim]Session {session.id}: {len(session.plan)} questions. One line per answer; /skip shows the answer, /quit saves for later.[/]")
        while (q := session.next_question()) is not None:
            out.print(f"\n[bold]Q{q.number}/{len(session.plan)}[/] [dim]{escape(q.kind)} · {escape(q.topic)}[/]")
            out.print(escape(q.text), highlight=False)
            try:
                line = input("answer> ").strip()
            except (EOFError, KeyboardInterrupt):
                line = "/quit"
            if line == "/quit":
                out.print(f"\n[dim]Saved. Continue with: rag interview --resume {session.id}[/]")
                break
            _show_feedback(session.answer("" if line == "/skip" else line))
    except (InterviewError, *_input_errors()) as e:
        _fail(str(e))
    summary = session.summary()
    if summary.answered:
        out.print(f"\n[bold]Session {summary.session_id}[/]: mean {summary.mean_score}/10 over {summary.answered} answers")
        for topic_name, score in sorted(summary.per_topic.items(), key=lambda kv: kv[1]):
            out.print(f"  {score:>4}/10  {escape(topic_name)}", highlight=False)
        if summary.weak_topics:
            out.print("[yellow]Weak topics come back next session:[/] " + escape("; ".join(summary.weak_topics)))
    # every question and answer already saved the session
    out.print(f"transcript: {session.path}" + (f", {session.export_markdown(export)}" if export else ""))


def _watcher(a: Assistant):
    """Re-ingests as notes change, printing one line per ingest that changed the index."""
    import time

    from rag.watch import NotesWatcher

    stamp = lambda: time.strftime("%H:%M:%S")
    return NotesWatcher(
        a,
        on_ingest=lambda stats: out.print(f"{stamp()} {escape(_updated(stats))}", highlight=False),
        on_error=lambda message: err.print(f"{stamp()} [red]ingest failed:[/] {escape(message)} (still watching)", highlight=False),
    )


@app.command()
def watch(index: IndexOpt = None, notes: NotesOpt = None) -> None:
    """Keep the index current while this runs: re-ingest whenever a note is added, changed or removed. Ctrl-C stops."""
    a = _assistant(notes, index)
    out.print(f"watching {a.notes_dir} (index {a.index_dir}); Ctrl-C stops")
    try:
        _watcher(a).run()
    except _input_errors() as e:
        _fail(str(e))


@app.command()
def mcp(
    http: Annotated[bool, typer.Option("--http", help="Streamable HTTP on 127.0.0.1 instead of stdio.")] = False,
    port: Annotated[Optional[int], typer.Option("--port", help="With --http; default: mcp_port (8002).")] = None,
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """Serve the notes to AI clients over the Model Context Protocol (stdio, as desktop clients start it)."""
    from rag.mcp_server import MCP_PATH, serve

    a = _assistant(notes, index)
    if http:
        # stdout is the protocol on stdio: say where to connect only when serving HTTP
        out.print(f"notes-rag MCP server on http://127.0.0.1:{port or a.settings.mcp_port}{MCP_PATH} (Ctrl-C stops it)")
    try:
        serve(a, http=http, port=port)
    except OSError as e:
        _fail(str(e))


@app.command()
def api(
    port: Annotated[Optional[int], typer.Option("--port", help="Default: api_port (8001).")] = None,
    host: Annotated[Optional[str], typer.Option("--host", help="Default 127.0.0.1; anything else needs api_key (RAG_API_KEY).")] = None,
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """An OpenAI-compatible endpoint (/v1/chat/completions, /v1/models) over your notes."""
    from rag.openai_api import APISetupError, server

    a = _assistant(notes, index)
    host, port = host or a.settings.api_host, port or a.settings.api_port
    try:
        endpoint = server(a, host, port)
    except APISetupError as e:
        _fail(str(e))
    out.print(f"notes-rag OpenAI-compatible API on http://{host}:{port}/v1, model notes-rag" + (" (Bearer key required)" if a.settings.api_key else "") + " (Ctrl-C stops it)")
    endpoint.run()


@app.command()
def ui(
    port: Annotated[Optional[int], typer.Option("--port", help="Default: ui_port (7860).")] = None,
    host: Annotated[Optional[str], typer.Option("--host", help="Default 127.0.0.1; anything else needs --auth.")] = None,
    auth: Annotated[Optional[str], typer.Option("--auth", help="user:password for a login page.")] = None,
    watch_notes: Annotated[Optional[bool], typer.Option("--watch/--no-watch", help="Re-ingest as notes change (default: ui_watch, on).")] = None,
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """The browser app: chat, mock interview, library and evaluation."""
    from ui.app import UISetupError, check_binding, launch

    a = _assistant(notes, index)
    s = a.settings
    host, port, auth = host or s.ui_host, port or s.ui_port, auth or s.ui_auth
    watcher = _watcher(a) if (s.ui_watch if watch_notes is None else watch_notes) and a.notes_dir.is_dir() else None
    try:
        check_binding(host, auth)
        out.print(f"notes-rag UI on http://{host}:{port} (Ctrl-C stops it)" + (" with a login" if auth else "") + (f"; watching {a.notes_dir}" if watcher else ""))
        demo = launch(a, host, port, auth, block=False)
        if watcher:
            watcher.start()  # once the app answers: a catch-up ingest must not hold up its start
        demo.block_thread()
    except (UISetupError, OSError) as e:
        _fail(str(e))
    finally:
        if watcher:
            watcher.stop()


eval_app = typer.Typer(help="Measure retrieval and answer quality on a question set.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

DatasetOpt = Annotated[Optional[Path], typer.Option("--dataset", help="JSONL question set (default: the shipped one).")]
SplitOpt = Annotated[str, typer.Option("--split", help="dev, test, holdout, fresh or all.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Where the reports and plots go.")]
ConfigsOpt = Annotated[str, typer.Option("--configs", help="Comma-separated: naive,bm25,dense,rrf,hybrid.")]
SweepOpt = Annotated[str, typer.Option("--sweep", help="Chunk sizes to try with hybrid, e.g. 128,300.")]
LimitOpt = Annotated[int, typer.Option("--limit", help="At most this many answerable questions, and a third as many unanswerable.")]
AnswerConfigsOpt = Annotated[str, typer.Option("--answer-configs", help="Comma-separated: verified,extractive,raw,no-retrieval.")]
fmt = lambda v: "–" if v is None else f"{v:.3f}"


def _run_eval(kind: str, notes, index, **options):
    a = _assistant(notes, index)
    try:
        a.ingest()
        with _progress() as bar:
            task = bar.add_task(kind, total=None)
            update = lambda stage, done, total: bar.update(task, description=stage, completed=done, total=total)
            return a.evaluate(kind, progress=update, **options)
    except (ValueError, RuntimeError, *_input_errors()) as e:  # LLMUnavailable, ServerError are RuntimeErrors
        _fail(str(e))


def _show_retrieval(report, out_dir: Path) -> None:
    from eval.report import write_report

    report.command = "rag " + " ".join(sys.argv[1:])
    paths = write_report(report, out_dir)
    table = Table("configuration", "chunks", "hit@2000", "recall@5", "MRR@10", "nDCG@10")
    for r in report.results:
        table.add_row(r.name, str(r.chunks), fmt(r.hit_at_2000), fmt(r.metrics["recall@5"]), fmt(r.metrics["mrr@10"]), fmt(r.metrics["ndcg@10"]))
    out.print(table)
    out.print("wrote " + ", ".join(str(p) for p in paths))


def _show_answers(summaries, out_dir: Path) -> None:
    from eval.report import write_answer_report

    paths = write_answer_report(summaries, out_dir, "rag " + " ".join(sys.argv[1:]))
    table = Table("configuration", "n", "faithful", "relevance", "token F1", "ROUGE-L", "cite valid", "abstain", "false abstain")
    for r in summaries:
        table.add_row(r.name, str(r.n), fmt(r.faithfulness), fmt(r.relevance), fmt(r.token_f1), fmt(r.rouge_l), fmt(r.citation_validity), fmt(r.abstention), fmt(r.false_abstention))
    out.print(table)
    out.print("wrote " + ", ".join(str(p) for p in paths))


def _configs(configs: str) -> list[str]:
    return [c.strip() for c in configs.split(",") if c.strip()]


def _sweep(sweep: str) -> list[int]:
    return [int(t) for t in sweep.split(",") if t.strip()]


@eval_app.command("retrieval")
def eval_retrieval(
    dataset: DatasetOpt = None,
    configs: ConfigsOpt = "naive,bm25,dense,rrf,hybrid",
    sweep: SweepOpt = "",
    split: SplitOpt = "all",
    out_dir: OutOpt = Path("eval/results/latest"),
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """recall@k, MRR, nDCG and hit@2000chars for each configuration, side by side."""
    report = _run_eval("retrieval", notes, index, configs=_configs(configs), dataset=dataset, split=split, chunk_sweep=_sweep(sweep))
    _show_retrieval(report, out_dir)


@eval_app.command("answers")
def eval_answers(
    dataset: DatasetOpt = None,
    split: SplitOpt = "test",
    limit: LimitOpt = 0,
    answer_configs: AnswerConfigsOpt = "verified,extractive,raw,no-retrieval",
    out_dir: OutOpt = Path("eval/results/latest"),
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """Faithfulness, relevance, correctness, citations and abstention of answers made each way (verified, extractive, raw, no retrieval)."""
    _show_answers(_run_eval("answers", notes, index, dataset=dataset, split=split, limit=limit, answer_configs=_configs(answer_configs)), out_dir)


@eval_app.command("abstention")
def eval_abstention(
    dataset: DatasetOpt = None,
    out_dir: OutOpt = Path("eval/results/abstention"),
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """Abstention against false abstention as the threshold moves, on the tuning and held-out questions (no LLM)."""
    from eval.abstention import write_abstention_report

    curves = _run_eval("abstention", notes, index, dataset=dataset)
    s = _assistant(notes, index).settings
    thresholds = {"abstain_below": s.abstain_below, "abstain_unless_supported_below": s.abstain_unless_supported_below}
    paths = write_abstention_report(curves, thresholds, out_dir, "rag " + " ".join(sys.argv[1:]))
    out.print((out_dir / "abstention.md").read_text(), markup=False, highlight=False)
    out.print("wrote " + ", ".join(str(p) for p in paths))


@eval_app.command("all")
def eval_all(
    dataset: DatasetOpt = None,
    configs: ConfigsOpt = "naive,bm25,dense,rrf,hybrid",
    sweep: SweepOpt = "",
    split: SplitOpt = "test",
    limit: LimitOpt = 0,
    out_dir: OutOpt = Path("eval/results/latest"),
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """Both evaluations, one report folder."""
    results = _run_eval("all", notes, index, configs=_configs(configs), dataset=dataset, split=split, chunk_sweep=_sweep(sweep), limit=limit)
    _show_retrieval(results["retrieval"], out_dir)
    _show_answers(results["answers"], out_dir)


@model_app.command("prepare")
def model_prepare() -> None:
    """Prepare the packaged models once: SmolLM2's GGUF as a folder vLLM can load (and its INT8 copy
    when the server will run that), MiniLM as ONNX."""
    from ingest.embed import Embedder, prepare_onnx
    from rag import server
    from rag.model_prep import ModelPrepError
    from rag.settings import Settings

    settings = Settings()
    try:
        out.print(server.model_path(settings, err))
    except (ModelPrepError, server.ServerError) as e:
        _fail(str(e))
    if Embedder(settings.embedding_model, cache_dir=settings.cache_dir).backend == "onnx":
        out.print(str(prepare_onnx(settings.cache_dir, err)))


if __name__ == "__main__":
    app()
