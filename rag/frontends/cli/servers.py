"""The servers: the local LLM (`rag serve`, `rag model prepare`) and what other programs and people
connect to (`rag mcp`, `rag api`, `rag ui`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from rag.frontends.cli.app import app, model_app
from rag.frontends.cli.console import IndexOpt, NotesOpt, err, fail, make_assistant, one_line_errors, out
from rag.frontends.cli.index import watcher_for

if TYPE_CHECKING:
    from rag import Assistant


@app.command()
def serve(
    model: Annotated[str | None, typer.Option("--model", help="HF model folder or name (default: llm_model).")] = None,
    port: Annotated[int | None, typer.Option("--port")] = None,
    host: Annotated[str | None, typer.Option("--host", help="Bind address; 127.0.0.1 unless you mean it.")] = None,
    show_status: Annotated[bool, typer.Option("--status", help="Is it running?")] = False,
    stop: Annotated[
        bool, typer.Option("--stop", help="Stop the server this tool started (found from its record without --port).")
    ] = False,
) -> None:
    """Start vLLM's OpenAI-compatible server for the local model, wait until it is healthy, and leave it running."""
    a = make_assistant(llm_model=model, server_port=port, server_host=host)
    if show_status or stop:
        with one_line_errors():
            # without --port: the server is wherever `rag serve` recorded starting one
            raise typer.Exit(serve_stop(a, port is None) if stop else serve_status(a, port is None))
    with one_line_errors():
        state = a.start_server(console=err)
    out.print(f"vLLM serving {state.model} at {state.base_url} (pid {state.pid}, log {state.log})")


def serve_status(a: Assistant, any_port: bool) -> int:
    state, answering = a.server_status(any_port)
    if state is not None:
        health = "healthy" if answering else "not answering"
        out.print(f"running: pid {state.pid}, {state.model} on {state.base_url} ({health}); log {state.log}")
        return 0
    left = a.server_leftovers(any_port)
    out.print(f"not running; {left} — `rag serve --stop` ends them" if left else "not running")
    return 1


def serve_stop(a: Assistant, any_port: bool) -> int:
    left = a.server_leftovers(any_port)
    state = a.stop_server(any_port)
    out.print(f"stopped pid {state.pid}" if state else f"stopped {left}" if left else "not running")
    return 0


@app.command()
def mcp(
    http: Annotated[bool, typer.Option("--http", help="Streamable HTTP on 127.0.0.1 instead of stdio.")] = False,
    port: Annotated[int | None, typer.Option("--port", help="With --http; default: mcp_port (8002).")] = None,
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """Serve the notes to AI clients over the Model Context Protocol (stdio, as desktop clients start it)."""
    from rag.frontends.mcp_server import MCP_PATH, serve

    a = make_assistant(notes, index)
    if http:
        # stdout is the protocol on stdio: say where to connect only when serving HTTP
        out.print(f"notes-rag MCP server on http://127.0.0.1:{port or a.settings.mcp_port}{MCP_PATH} (Ctrl-C stops it)")
    try:
        serve(a, http=http, port=port)
    except OSError as e:
        fail(str(e))


@app.command()
def api(
    port: Annotated[int | None, typer.Option("--port", help="Default: api_port (8001).")] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Default 127.0.0.1; anything else needs api_key (RAG_API_KEY).")
    ] = None,
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """An OpenAI-compatible endpoint (/v1/chat/completions, /v1/models) over your notes."""
    from rag.frontends.openai_api import server

    a = make_assistant(notes, index)
    host, port = host or a.settings.api_host, port or a.settings.api_port
    with one_line_errors():
        endpoint = server(a, host, port)
    out.print(
        f"notes-rag OpenAI-compatible API on http://{host}:{port}/v1, model notes-rag"
        + (" (Bearer key required)" if a.settings.api_key else "")
        + " (Ctrl-C stops it)"
    )
    endpoint.run()


@app.command()
def ui(
    port: Annotated[int | None, typer.Option("--port", help="Default: ui_port (7860).")] = None,
    host: Annotated[str | None, typer.Option("--host", help="Default 127.0.0.1; anything else needs --auth.")] = None,
    auth: Annotated[str | None, typer.Option("--auth", help="user:password for a login page.")] = None,
    watch_notes: Annotated[
        bool | None, typer.Option("--watch/--no-watch", help="Re-ingest as notes change (default: ui_watch, on).")
    ] = None,
    index: IndexOpt = None,
    notes: NotesOpt = None,
) -> None:
    """The browser app: chat, mock interview, library and evaluation."""
    launch = browser_app()
    a = make_assistant(notes, index)
    s = a.settings
    host, port, auth = host or s.ui_host, port or s.ui_port, auth or s.ui_auth
    watcher = watcher_for(a) if (s.ui_watch if watch_notes is None else watch_notes) and a.notes_dir.is_dir() else None
    try:
        with one_line_errors(OSError):
            demo = launch(a, host, port, auth, block=False)
            out.print(
                f"notes-rag UI on http://{host}:{port} (Ctrl-C stops it)"
                + (" with a login" if auth else "")
                + (f"; watching {a.notes_dir}" if watcher else "")
            )
            if watcher:
                watcher.start()  # once the app answers: a catch-up ingest must not hold up its start
            demo.block_thread()
    finally:
        if watcher:
            watcher.stop()


def browser_app():
    """The browser app's `launch(assistant, host, port, auth, block)`, found through the package's entry
    point (`notes_rag.apps`), so that the command line does not import the app's code by name."""
    from importlib.metadata import entry_points

    found = entry_points(group="notes_rag.apps", name="ui")
    if not found:
        fail("the browser app is not installed; reinstall notes-rag (pip install -e .)")
    return next(iter(found)).load()


@model_app.command("prepare")
def model_prepare() -> None:
    """Prepare the packaged models once: SmolLM2's GGUF as a folder vLLM can load (and its INT8 copy
    when the server will run that), MiniLM as ONNX."""
    with one_line_errors():
        for folder in make_assistant().prepare_models(err):
            out.print(folder)
