"""Mock interviews in the terminal: `rag interview`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from rag.frontends.cli.app import app
from rag.frontends.cli.console import (
    IndexOpt,
    JsonOpt,
    NotesOpt,
    SourceOpt,
    TagOpt,
    make_assistant,
    one_line_errors,
    out,
    print_json,
    sync_index,
)


def show_feedback(fb) -> None:
    label = "" if fb.verdict == "graded" else f" [dim]({fb.verdict.replace('_', ' ')})[/]"
    color = "green" if fb.score >= 7 else "yellow" if fb.score >= 4 else "red"
    out.print(f"[bold {color}]Score {fb.score}/10[/]{label}")
    for k in fb.covered:
        out.print(f"  [green]✓[/] {escape(k.text)} [dim]— {escape(k.cite)}[/]", highlight=False)
    for k in fb.contradicted:
        said = f"you said “{escape(k.said)}”; " if k.said else ""
        out.print(
            f"  [bold red]✗ contradicted:[/] {said}your notes say {escape(k.text)} [dim]— {escape(k.cite)}[/]",
            highlight=False,
        )
    for k in fb.missed:
        out.print(f"  [red]✗[/] {escape(k.text)} [dim]— {escape(k.cite)}[/]", highlight=False)
    for k in fb.further:
        out.print(f"  [dim]· also in your notes: {escape(k.text)} — {escape(k.cite)}[/]", highlight=False)
    out.print(f"[bold]Model answer[/] (from your notes): {escape(fb.model_answer)}", highlight=False)
    for notice in fb.notices:
        out.print(f"[yellow]{escape(notice)}[/]", highlight=False)


def ask_mark(session) -> None:
    """Where the grader is unsure, the candidate's own mark moves the Leitner box (Enter keeps the score)."""
    if not session.markable(session.turns[-1]):
        return
    from rag import MARKS, UNSURE  # here: `rag --help` must not load the interview package and numpy

    keys = {m[0]: m for m in MARKS}
    low, high = UNSURE
    prompt = f"The grader is unsure ({low:g}-{high:g}). How did you do? [a]gain [h]ard [g]ood [e]asy, Enter: keep> "
    while True:
        try:
            line = input(prompt).strip().lower()
        except (EOFError, KeyboardInterrupt):
            return
        if not line:
            return
        if line[0] in keys and keys[line[0]].startswith(line):
            box = session.mark(keys[line[0]])
            out.print(f"[dim]Marked {keys[line[0]].capitalize()}: this concept is now in Leitner box {box}.[/]")
            return
        out.print("[dim]a, h, g, e or Enter[/]")


@app.command()
def interview(
    topic: Annotated[
        str | None, typer.Option("--topic", help="Only concepts whose heading, term or file contains this.")
    ] = None,
    n: Annotated[int, typer.Option("--n", help="How many questions.")] = 5,
    mode: Annotated[
        str, typer.Option("--mode", help="concepts (your ML notes) or company (your interview-prep notes).")
    ] = "concepts",
    difficulty: Annotated[str | None, typer.Option("--difficulty", help="easy, medium or hard.")] = None,
    phrasing: Annotated[str, typer.Option("--phrasing", help="auto (the LLM if it is up), llm, or template.")] = "auto",
    resume: Annotated[str | None, typer.Option("--resume", help="Continue a saved session by its id.")] = None,
    export: Annotated[Path | None, typer.Option("--export", help="Also write the transcript as Markdown here.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Same seed, same questions (for a given history).")] = None,
    export_anki: Annotated[
        Path | None,
        typer.Option(
            "--export-anki", help="Write the concepts (of --topic, or all) as an Anki deck (.apkg) instead of asking."
        ),
    ] = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """A mock interview from your notes: one line per answer, graded with cited feedback. /skip, /quit."""
    a = make_assistant(notes, index)
    with one_line_errors():
        sync_index(a)
        if export_anki:
            deck = a.export_anki(export_anki, topic=topic)
            cards = f"{deck.cards} card{'s' * (deck.cards != 1)}"
            out.print(
                f"{cards} in deck {escape(deck.deck)} → {deck.path} (import it in Anki; exporting again updates "
                "these cards)"
            )
            return
        session = a.interview(
            topic=topic,
            n=n,
            mode=mode,
            difficulty=difficulty,
            phrasing=phrasing,
            seed=seed,
            resume=resume,
            sources=source,
            tags=tag,
        )
        run_session(session)
    show_summary(session)
    # every question and answer already saved the session
    out.print(f"transcript: {session.path}" + (f", {session.export_markdown(export)}" if export else ""))


def run_session(session) -> None:
    """Ask until the plan is done or the user leaves (/quit saves the session for --resume)."""
    out.print(
        f"[dim]Session {session.id}: {len(session.plan)} questions. "
        "One line per answer; /skip shows the answer, /quit saves for later.[/]"
    )
    while (q := session.next_question()) is not None:
        out.print(f"\n[bold]{q.label}/{len(session.plan)}[/] [dim]{escape(q.kind)} · {escape(q.topic)}[/]")
        out.print(escape(q.text), highlight=False)
        try:
            line = input("answer> ").strip()
        except (EOFError, KeyboardInterrupt):
            line = "/quit"
        if line == "/quit":
            out.print(f"\n[dim]Saved. Continue with: rag interview --resume {session.id}[/]")
            return
        show_feedback(session.answer("" if line == "/skip" else line))
        ask_mark(session)


def show_summary(session) -> None:
    summary = session.summary()
    if not summary.answered:
        return
    out.print(f"\n[bold]Session {summary.session_id}[/]: mean {summary.mean_score}/10 over {summary.answered} answers")
    for topic_name, score in sorted(summary.per_topic.items(), key=lambda kv: kv[1]):
        out.print(f"  {score:>4}/10  {escape(topic_name)}", highlight=False)
    if summary.weak_topics:
        weak = f"{summary.weak_answers} weak answer{'s' * (summary.weak_answers != 1)}"
        out.print(f"[yellow]{weak}; weak topics come back next session:[/] " + escape("; ".join(summary.weak_topics)))


@app.command()
def grade(
    question: Annotated[str, typer.Argument(help="The question, as an interviewer would ask it.")],
    answer: Annotated[str, typer.Argument(help="Your answer to it.")],
    source: Annotated[
        str | None, typer.Option("--source", help="Grade against this note (default: the best-matching section).")
    ] = None,
    heading: Annotated[
        str | None, typer.Option("--heading", help="Grade against the section under this heading.")
    ] = None,
    as_json: JsonOpt = False,
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """Grade your answer to any question against your notes, as a mock interview does."""
    a = make_assistant(notes, index)
    with one_line_errors():
        sync_index(a)
        fb = a.grade(question, answer, source=source, heading=heading)
    if as_json:
        print_json({"question": question, "answer": answer, **fb.to_json()})
        return
    show_feedback(fb)
