"""What every command shares: the consoles, the options, the assistant from the flags, one-line errors
and progress bars."""

from __future__ import annotations

import json
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rag import strip_control

if TYPE_CHECKING:
    from rag import Assistant


class NoteConsole(Console):
    """Notes (and a model quoting them) may hold terminal escape sequences: printed text goes out
    without control characters, so a note cannot recolour, retitle or clear the user's terminal."""

    def print(self, *objects, **kwargs) -> None:
        super().print(*(strip_control(o) if isinstance(o, str) else o for o in objects), **kwargs)


# soft_wrap: a message is one line however narrow the terminal or pipe; let the terminal wrap it
out = NoteConsole(soft_wrap=True)
err = NoteConsole(stderr=True, soft_wrap=True)

EXIT_LLM_DOWN = 3  # `ask` printed passages only: no LLM could be reached or started

IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="Index folder (default: per notes folder under the cache).")
]
NotesOpt = Annotated[Path | None, typer.Option("--notes", help="Notes folder (default: notes_dir setting).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
TopK = Annotated[int | None, typer.Option("-k", "--top-k", help="How many passages to retrieve.")]
SourceOpt = Annotated[list[str] | None, typer.Option("--source", help="Only this note (repeatable).")]
TagOpt = Annotated[list[str] | None, typer.Option("--tag", help="Only notes with this tag (repeatable).")]
AnswerModeOpt = Annotated[
    str | None,
    typer.Option(
        "--mode",
        help="verified (default: every sentence checked against the notes), extractive (the notes' own "
        "sentences, no LLM), raw (unchecked) or closed-book (the LLM alone, no notes).",
    ),
]


def make_assistant(notes: Path | None = None, index: Path | None = None, **overrides) -> Assistant:
    from pydantic import ValidationError

    from rag import Assistant

    try:
        return Assistant(notes_dir=notes, index_dir=index, **{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        problem = e.errors()[0]
        fail(
            f"setting {'.'.join(map(str, problem['loc']))}: {problem['msg']} (check the flag, rag.toml or RAG_* "
            "variable)"
        )


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@contextmanager
def one_line_errors(*also: type[Exception]):
    """What the notes, the index or the settings make go wrong (a RagError, or one of `also`) ends the
    command with its one line, not a traceback."""
    from rag import RagError

    try:
        yield
    except (RagError, *also) as e:
        fail(str(e))


def progress_bar(disable: bool = False) -> Progress:
    """A bar on stderr while long work runs; off when stderr is not a terminal (logs, pipes)."""
    columns = (TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=err, transient=True, disable=disable or not err.is_terminal)


def bar_updates(bar: Progress):
    """An ingest progress callback drawing one bar per stage (reading, embedding, writing)."""
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return update


def updated_line(stats, skipped: bool = True) -> str:
    """The one line an automatic or watched ingest prints."""
    line = f"index {'updated' if stats.changed else 'unchanged'}: {stats.summary()}"
    if skipped and stats.skipped:
        line += f"; skipped {', '.join(s.source for s in stats.skipped)} (`rag ingest` says why)"
    return line


def sync_index(a: Assistant) -> None:
    """auto_ingest: a stale or missing index is brought up to date before it is used, with the usual bar
    and one line on stderr, then any warning (broken front matter: the ingest that read the note is the
    only one to find it); nothing is shown when it was current."""
    with progress_bar() as bar:
        stats = a.ensure_index(progress=bar_updates(bar))
    if stats is None or not (stats.changed or stats.warnings):
        return
    err.print(f"[cyan]{escape(updated_line(stats))}[/]", highlight=False)
    for warning in stats.warnings:
        err.print(f"[yellow]warning[/] {escape(warning)}", highlight=False)


def where(path: str, source: str, line: int) -> str:
    """`notes/file.md:120`, which terminals and editors open at the line; the bare name without a path."""
    from rag import location

    return location(path, line) if path else source


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# formulas in a terminal: LaTeX as Unicode ("softmax(QKᵀ/√(dₖ))"), since no terminal renders $…$
# "$5 and $6" is money, not math: inline math neither starts nor ends with a space (as in pandoc)
MATH = re.compile(r"\$\$(.+?)\$\$|\$(?!\s)([^$]+?)(?<!\s)\$|\\\[(.+?)\\\]|\\\((.+?)\\\)", re.DOTALL)
SCRIPT = re.compile(r"([_^])(?:\{([^{}]*)\}|(\w))")
SUPERSCRIPT = dict(zip("0123456789+-=()nTi", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿᵀⁱ"))
SUBSCRIPT = dict(zip("0123456789+-=()aeoxhklmnpstijruv", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼᵣᵤᵥ"))


# Markdown emphasis the notes use ("*prevent overfitting*", "**What it Measures**:"): a terminal shows the
# marks, not the emphasis. Only asterisks around words: "a * b" is a product, `__init__` a name
EMPHASIS = re.compile(r"(\*{1,3})(?=[^\s*])(.+?)(?<=[^\s*])\1")


def terminal_text(text: str) -> str:
    """Text for the terminal: each formula converted to Unicode, Markdown emphasis marks dropped outside
    formulas, everything else as it is."""
    parts, last = [], 0
    for m in MATH.finditer(text):
        parts += [EMPHASIS.sub(r"\2", text[last : m.start()]), unicode_math(next(g for g in m.groups() if g))]
        last = m.end()
    return "".join([*parts, EMPHASIS.sub(r"\2", text[last:])])


def unicode_math(latex: str) -> str:
    from pylatexenc.latex2text import LatexNodes2Text

    def script(m: re.Match) -> str:
        chars = m.group(2) if m.group(2) is not None else m.group(3)
        if re.search(r"\\[A-Za-z]+$", latex[: m.start()]):  # \max_a, \sum_i: the operator's own limits
            return m.group(0)
        table = SUPERSCRIPT if m.group(1) == "^" else SUBSCRIPT
        return "".join(table[c] for c in chars) if all(c in table for c in chars) else m.group(0)

    return LatexNodes2Text(math_mode="text").latex_to_text(SCRIPT.sub(script, latex)).strip()
