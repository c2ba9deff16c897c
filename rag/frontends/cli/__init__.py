"""The `rag` command line: the Python API, one command per method, grouped by area (one module each)."""

from __future__ import annotations

# Each command imports what it uses when it runs: `rag --help` loads no settings, index or model code,
# `rag status` no retrieval, `rag retrieve` no LLM client (tests/test_speed.py).
from rag.frontends.cli.app import app

# isort: off
# each area registers its commands when imported, in the order `rag --help` lists them
from rag.frontends.cli import index, answers, history, servers, interview, progress, evaluate, library  # noqa: F401, E402
# isort: on

__all__ = ["app"]

if __name__ == "__main__":
    app()
