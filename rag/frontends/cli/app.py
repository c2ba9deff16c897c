"""The `rag` command and its groups; each area's module adds its commands to them."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Answers over your own ML notes with a local LLM, with sources.", no_args_is_help=True, add_completion=False
)
model_app = typer.Typer(help="The local LLM's files.", no_args_is_help=True)
app.add_typer(model_app, name="model")
eval_app = typer.Typer(help="Measure retrieval and answer quality on a question set.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
