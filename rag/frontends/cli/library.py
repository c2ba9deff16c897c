"""The notes around a note: `rag related`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from rag.frontends.cli.app import app
from rag.frontends.cli.console import (
    IndexOpt,
    JsonOpt,
    NotesOpt,
    make_assistant,
    one_line_errors,
    out,
    print_json,
    sync_index,
)


@app.command()
def related(
    note: Annotated[str, typer.Argument(help="A note: its file name, its path in the notes folder or from here.")],
    k: Annotated[int, typer.Option("-k", help="How many notes close in meaning (1 to 50).")] = 5,
    index: IndexOpt = None,
    notes: NotesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What a note links to and embeds, what links to it, and the notes closest to it in meaning."""
    a = make_assistant(notes, index)
    with one_line_errors():
        sync_index(a)
        found = a.related(note, k=k)
    if as_json:
        print_json(found.to_json())
        return
    out.print(f"[bold]{escape(found.note)}[/]", highlight=False)
    for r in found.related:
        out.print(f"  [cyan]{escape(r.source)}[/]  [dim]{escape(r.reason)}[/]", highlight=False)
    if not found.related:
        out.print("  [dim]no other note to relate it to[/]")
    if found.unresolved:
        out.print(f"[dim]links to no note here: {escape(', '.join(found.unresolved))}[/]", highlight=False)
