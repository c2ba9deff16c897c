"""Questions answered from the notes: `rag ask` and `rag chat`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from rag import RagError
from rag.frontends.cli.app import app
from rag.frontends.cli.console import (
    EXIT_LLM_DOWN,
    AnswerModeOpt,
    IndexOpt,
    JsonOpt,
    NotesOpt,
    SourceOpt,
    TagOpt,
    TopK,
    err,
    fail,
    make_assistant,
    one_line_errors,
    out,
    print_json,
    sync_index,
    terminal_text,
    where,
)

if TYPE_CHECKING:
    from rag import Answer, AnswerStream, Assistant

NoLogOpt = Annotated[bool, typer.Option("--no-log", help="Keep no record in the history (rag history).")]


def print_sources(answer: Answer, cited_only: bool = False) -> None:
    """One line per section (its passages' numbers together), cited sections first, under a legend."""
    from rag import LEGEND, group_sources

    groups = group_sources(answer.sources, cited_only)
    if not groups:
        return
    out.print(f"\n[bold]{'Cited' if cited_only else 'Sources'}[/]  [dim]{escape(LEGEND)}[/]")
    for g in groups:
        style = "green" if g.cited else "dim"
        out.print(
            f"[{style}]{escape(g.marks)} {escape(where(g.path, g.source, g.line_start))} > {escape(g.heading)}[/]",
            highlight=False,
        )


def stream_answer(stream: AnswerStream, as_json: bool) -> Answer:
    """The model's draft streams into a view that is erased when it ends; the checked answer is then
    printed once (in a pipe, only the checked answer)."""
    from contextlib import nullcontext

    from rich.live import Live
    from rich.text import Text

    draft: list[str] = []
    live = Live(console=out, transient=True, auto_refresh=False) if not as_json and out.is_terminal else None
    with live or nullcontext():
        for piece in stream:
            if live is not None:
                draft.append(piece)
                # labelled: a small model's draft can be anything, even the previous answer copied
                live.update(
                    Text.assemble(
                        ("draft, being checked against your notes…\n", "dim italic"), ("".join(draft), "dim")
                    ),
                    refresh=True,
                )
    answer = stream.answer
    if not as_json:
        out.print(terminal_text(answer.text), highlight=False, markup=False)
        if answer.unsupported and answer.mode == "generated":
            err.print("[yellow]left out, not found in your notes:[/]")
            for sentence in answer.unsupported:
                err.print(f"  [dim]- {escape(sentence)}[/]", highlight=False)
    return answer


def say_how_made(answer: Answer, with_mode: bool = True) -> None:
    """How the answer was made (not under --json, which says it), and any notice, under it."""
    from rag import how_made

    line = how_made(answer.mode, answer.claims)
    if with_mode and line and not answer.error:
        err.print(f"[dim]({answer.mode}: {line})[/]")
    if answer.notice:
        err.print(f"[cyan]note:[/] {escape(answer.notice)}")


def report(answer: Answer, as_json: bool) -> int:
    if as_json:
        print_json(answer.to_json())
    else:
        if answer.invalid_citations:
            err.print(f"[yellow]removed citations to blocks that were not given: {answer.invalid_citations}[/]")
        print_sources(answer)
    say_how_made(answer, with_mode=not as_json)
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
    no_log: NoLogOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Answer from your notes with the LLM, streaming, then list the sources."""
    a = make_assistant(notes, index, answer_mode=mode, history=False if no_log else None)
    with one_line_errors():
        # the question and k are checked before anything is ingested
        stream = a.stream(
            question, k=k, sources=source, tags=tag, autostart=False if no_autostart else None, console=err
        )
        sync_index(a)
        answer = stream_answer(stream, as_json)
    raise typer.Exit(report(answer, as_json))


CHAT_COMMANDS = {"/sources": "everything the last answer retrieved", "/reset": "start over", "/quit": "leave"}


@app.command()
def chat(
    index: IndexOpt = None,
    notes: NotesOpt = None,
    k: TopK = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    mode: AnswerModeOpt = None,
    no_log: NoLogOpt = False,
) -> None:
    """A conversation in the terminal. /sources, /reset, /quit; Ctrl-C cancels an answer."""
    a = make_assistant(notes, index, answer_mode=mode, history=False if no_log else None)
    scope = {"sources": source, "tags": tag}
    history: list[dict] = []
    last: Answer | None = None
    out.print(
        "[dim]Ask about your notes. Each answer lists what it cited; /sources shows everything retrieved, "
        "/reset starts over, /quit leaves; Ctrl-C cancels an answer.[/]"
    )
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
        elif line == "/sources" and last:
            print_sources(last)
        elif line == "/sources":
            out.print("[dim]No answer yet.[/]")
        elif line.startswith("/"):
            # a mistyped command is not a question for the notes
            listed = ", ".join(f"{name} ({what})" for name, what in CHAT_COMMANDS.items())
            out.print(f"[yellow]unknown command {escape(line)}[/]; the commands: {listed}", highlight=False)
        else:
            last = chat_turn(a, history, line, k, scope) or last


def chat_turn(a: Assistant, history: list[dict], line: str, k: int | None, scope: dict) -> Answer | None:
    """One question and its answer (within `scope`: sources, tags), added to `history` as far as it was
    shown; None when Ctrl-C cancelled it (the conversation goes on without it)."""
    try:
        stream = a.stream_chat([*history, {"role": "user", "content": line}], k=k, console=err, **scope)
        sync_index(a)
        answer = stream_answer(stream, as_json=False)
    except KeyboardInterrupt:
        err.print("[yellow]answer cancelled[/]")
        return None
    except RagError as e:
        fail(str(e))
    if answer.error:
        report(answer, as_json=False)
    else:
        print_sources(answer, cited_only=True)  # the rest of what was retrieved: /sources
        say_how_made(answer)
    if answer.text:
        # what was shown is what the user follows up on, even when it is the notes' own sentences
        # because the LLM was down or a partial reply: without it "why does that help?" means nothing
        history += [{"role": "user", "content": line}, {"role": "assistant", "content": answer.text}]
    return answer
