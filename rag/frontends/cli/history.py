"""What was asked: `rag history [SEARCH]` and `rag history --delete`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from rag.frontends.cli.app import app
from rag.frontends.cli.console import (
    IndexOpt,
    JsonOpt,
    NotesOpt,
    err,
    fail,
    make_assistant,
    one_line_errors,
    out,
    print_json,
)


@app.command()
def history(
    search: Annotated[str | None, typer.Argument(help="Only entries whose question or answer has these words.")] = None,
    n: Annotated[int, typer.Option("-n", help="How many entries, newest first.")] = 20,
    delete: Annotated[bool, typer.Option("--delete", help="Delete the whole history.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    index: IndexOpt = None,
    notes: NotesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The questions asked (rag ask, rag chat, the browser, MCP, the API) with their answers and sources."""
    a = make_assistant(notes, index)
    if delete:
        if not yes and not typer.confirm(f"Delete every question kept in {a.index_dir}?", err=True):
            fail("nothing deleted")
        err.print(f"deleted {a.clear_history()} entries")
        return
    with one_line_errors():
        entries = a.history(search, limit=n)
    if as_json:
        print_json([e.to_json() for e in entries])
        return
    if not entries:
        out.print("[dim]nothing asked yet[/]" if not search else f"[dim]nothing asked matches {escape(search)}[/]")
    for e in reversed(entries):  # the newest last, next to the prompt
        flag = " [yellow](not in the notes)[/]" if e.abstained else ""
        out.print(f"[dim]{e.time} · {e.mode} · {e.made}[/]{flag}", highlight=False)
        out.print(f"[bold]? {escape(e.question)}[/]", highlight=False)
        out.print(escape(e.answer), highlight=False)
        cited = [s for s in e.sources if s["cited"]] or e.sources[:1]
        for s in cited:
            out.print(f"  [dim]{escape(s['source'])}:{s['lines'][0]} > {escape(s['heading'])}[/]", highlight=False)
        out.print()
