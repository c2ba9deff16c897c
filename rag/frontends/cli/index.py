"""The notes and their index: `rag ingest`, `rag retrieve`, `rag status`, `rag watch`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from rag.frontends.cli.app import app
from rag.frontends.cli.console import (
    IndexOpt,
    JsonOpt,
    NotesOpt,
    SourceOpt,
    TagOpt,
    TopK,
    bar_updates,
    err,
    fail,
    make_assistant,
    one_line_errors,
    out,
    print_json,
    progress_bar,
    sync_index,
    updated_line,
    where,
)

if TYPE_CHECKING:
    from rag import Assistant


@app.command()
def ingest(
    notes_dir: Annotated[Path | None, typer.Argument(help="Notes folder (default: notes_dir setting).")] = None,
    index: IndexOpt = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Embed everything again.")] = False,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for another running ingest.")] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Read the notes folder and update the index; only changed files are embedded again."""
    a = make_assistant(notes_dir, index)
    with one_line_errors():
        with progress_bar(disable=as_json) as bar:
            stats = a.ingest(rebuild=rebuild, progress=bar_updates(bar), lock_wait_seconds=wait)
    if as_json:
        print_json({**stats.to_json(), "index_dir": str(a.index_dir)})
    else:
        for skipped in stats.skipped:
            err.print(f"[yellow]{escape(str(skipped))}[/]")  # the reason says "skipped" and why
        for warning in stats.warnings:
            err.print(f"[yellow]warning[/] {escape(warning)}")
        if stats.rebuilt_because:
            err.print(f"[cyan]rebuilt:[/] {escape(stats.rebuilt_because)}")
        verb = "Indexed" if stats.changed else "Up to date:"
        if stats.files or stats.changed:  # "Up to date: 0 files" would read as success
            out.print(f"{verb} {stats.summary()} → {a.index_dir}")
    if not stats.files:  # nothing to answer from: an error
        fail(
            f"{a.notes_dir}: no notes in it (no .md, .txt or .pdf file that could be read); add notes there, or "
            "give your notes folder: rag ingest PATH"
        )


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
    a = make_assistant(notes, index)
    with one_line_errors():
        sync_index(a)
        hits = a.retrieve(question, k=k, sources=source, tags=tag)
    if as_json:
        print_json([h.to_json() for h in hits])
        return
    if not hits:
        out.print("Nothing in the notes matches.")
    for h in hits:
        out.print(
            f"[bold]{h.rank}.[/] [cyan]{escape(where(h.path, h.source, h.chunk.line_start))}[/] › "
            f"{escape(h.heading)}  [dim]score {h.score:.4f} · lines {h.chunk.line_start}-{h.chunk.line_end}[/]",
            highlight=False,
        )
        out.print(escape(h.text.strip()[:600]), highlight=False)
        out.print()


@app.command()
def status(index: IndexOpt = None, notes: NotesOpt = None, as_json: JsonOpt = False) -> None:
    """Files, chunks, models and the last ingest; and whether the local server runs."""
    a = make_assistant(notes, index)
    with one_line_errors():
        info = a.status()
    running, answering = a.server_status()
    url = running.base_url if running else a.settings.llm_base_url
    if running:
        info["server"] = {
            "pid": running.pid,
            "port": running.port,
            "model": running.model,
            "url": url,
            "answering": answering,
        }
    else:
        info["server"] = {"pid": None, "url": url, "answering": True} if answering else None
    if as_json:
        print_json(info)
        return
    table = Table(show_header=False, box=None)
    for key in (
        "notes_dir",
        "index_dir",
        "indexed",
        "files",
        "chunks",
        "embedding_model",
        "index_type",
        "llm_model",
        "llm_base_url",
    ):
        if key in info:
            table.add_row(key, escape(str(info[key])))
    if info.get("last_ingest"):
        import datetime as dt

        table.add_row("last_ingest", dt.datetime.fromtimestamp(info["last_ingest"]).isoformat(timespec="seconds"))
    if running:
        table.add_row(
            "server",
            f"pid {running.pid} on {running.host}:{running.port} ({'answering' if answering else 'not answering'})",
        )
    elif answering:
        table.add_row("server", escape(f"answering at {url} (not started by `rag serve`)"))
    else:
        left = a.server_leftovers()
        table.add_row(
            "server", escape(f"not running; {left} — `rag serve --stop` ends them") if left else "not running"
        )
    out.print(table)


# chunks to embed before the watcher says so: about five seconds on two cores; less is done before a line helps
LONG_EMBEDDING = 300


def watcher_for(a: Assistant):
    """Re-ingests as notes change, printing one line per ingest that changed the index, each file it
    skipped or warned about (once), and for a long ingest (a big note) a line as embedding starts and
    at each quarter."""
    import time

    from rag import NotesWatcher

    stamp = lambda: time.strftime("%H:%M:%S")
    say = lambda text: out.print(f"{stamp()} {escape(text)}", highlight=False)
    quarter = [0]

    def progress(notes: list[str], stage: str, done: int, total: int) -> None:
        if stage != "embedding" or total < LONG_EMBEDDING or done >= total:
            return
        if done == 0:
            quarter[0] = 0
            names = ", ".join(notes[:3]) + (f" and {len(notes) - 3} more" if len(notes) > 3 else "")
            say(f"embedding {total} chunks{f' of {names}' if names else ''}…")
        elif done * 4 // total > quarter[0]:
            quarter[0] = done * 4 // total
            say(f"embedding: {done}/{total} chunks")

    return NotesWatcher(
        a,
        on_ingest=lambda stats: say(updated_line(stats, skipped=False)),
        on_error=lambda message: err.print(
            f"{stamp()} [red]ingest failed:[/] {escape(message)} (still watching)", highlight=False
        ),
        on_notice=lambda line: err.print(f"{stamp()} [yellow]{escape(line)}[/]", highlight=False),
        on_progress=progress,
    )


@app.command()
def watch(index: IndexOpt = None, notes: NotesOpt = None) -> None:
    """Keep the index current while this runs: re-ingest whenever a note is added, changed or removed. Ctrl-C stops."""
    a = make_assistant(notes, index)
    out.print(f"watching {a.notes_dir} (index {a.index_dir}); Ctrl-C stops")
    with one_line_errors():
        watcher_for(a).run()
