"""What practice has achieved and what to study next: `rag progress`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from rag.frontends.cli.app import app
from rag.frontends.cli.console import (
    IndexOpt,
    JsonOpt,
    NotesOpt,
    err,
    make_assistant,
    one_line_errors,
    out,
    print_json,
    sync_index,
)

if TYPE_CHECKING:
    from rag import Progress


@app.command()
def progress(
    plot: Annotated[Path | None, typer.Option("--plot", help="Write scores over time as a PNG here.")] = None,
    index: IndexOpt = None,
    notes: NotesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Per-topic mastery, cards due today, scores over time, and what to study next."""
    from rag import plot_progress

    a = make_assistant(notes, index)
    with one_line_errors():
        sync_index(a)
        found = a.progress()
        if plot is not None:
            plot_progress(found, plot)
    if as_json:
        print_json(found.to_json())
    else:
        show(found)
    if plot is not None:
        err.print(f"scores over time: {plot}")


def show(p: Progress) -> None:
    answered = sum(s["answered"] for s in p.sessions)
    out.print(
        f"[bold]{len(p.sessions)} sessions[/], {answered} answers; {p.drilled} of {p.concepts} concepts drilled; "
        f"{len(p.due_today)} cards due today"
    )
    if p.topics:
        out.print("\n[bold]Topics[/] [dim](mastery 0-1, weakest first)[/]")
    for t in p.topics:
        score = "—" if t.mean_score is None else f"{t.mean_score:.1f}/10"
        style = "yellow" if t.weak else "green"
        out.print(
            f"  [{style}]{t.mastery:.2f}[/]  {escape(t.topic)}  [dim]{score}, {t.cards} cards, {t.due} due[/]",
            highlight=False,
        )
    for title, items in p.study_next().items():
        if items:
            out.print(f"\n[bold]{title}[/]")
            for item in items:
                out.print(f"  - {escape(item)}", highlight=False)
