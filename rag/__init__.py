"""notes-rag: answers over your own ML notes with a locally served LLM, with sources."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from rag.settings import Settings
    from rag.types import Answer, Chunk, Hit, Source

__all__ = ["Assistant", "Settings", "Answer", "Chunk", "Hit", "Source"]

# Imported on first use (PEP 562): `import rag.cli` runs this file, and `rag --help` should not pay for
# the whole API.
_HOME = {"Assistant": "rag.assistant", "Settings": "rag.settings", "Answer": "rag.types", "Chunk": "rag.types", "Hit": "rag.types", "Source": "rag.types"}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
