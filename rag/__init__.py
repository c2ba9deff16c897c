"""notes-rag: answers over your own ML notes with a locally served LLM, with sources."""

from rag.assistant import Assistant
from rag.settings import Settings
from rag.types import Answer, Chunk, Hit, Source

__all__ = ["Assistant", "Settings", "Answer", "Chunk", "Hit", "Source"]
