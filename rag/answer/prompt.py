"""The role / context / constraints / instruction prompt, fitted to the model's window."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tomllib

from rag.types import Hit

DEFAULT_TEMPLATE = Path(__file__).parent / "templates" / "prompt.toml"
PARTS = ("role", "block", "context", "constraints", "instruction")


@dataclass(frozen=True)
class PromptTemplate:
    role: str
    block: str
    context: str
    constraints: str
    instruction: str

    @classmethod
    def load(cls, path: Path | None = None) -> PromptTemplate:
        path = path or DEFAULT_TEMPLATE
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ValueError(
                f"{path}: cannot read the prompt template ({e}); fix it or unset prompt_template"
            ) from None
        missing = [p for p in PARTS if p not in data]
        if missing:
            raise ValueError(
                f"{path}: prompt template lacks {', '.join(missing)}; copy the parts from {DEFAULT_TEMPLATE}"
            )
        return cls(**{p: data[p].strip() for p in PARTS})

    def render_blocks(self, hits: list[Hit]) -> str:
        return "\n\n".join(
            self.block.format(n=n, source=h.source, heading=h.heading, text=self._fenced(h.text.strip()))
            for n, h in enumerate(hits, 1)
        )

    def _fenced(self, text: str) -> str:
        """A note that writes the fence's closing tag ("</notes>") would end the quoted material early
        and speak as the prompt itself; the tag inside a note is broken so the fence holds."""
        closing = re.findall(r"</[\w-]+>", self.context)
        for tag in closing:
            text = re.sub(re.escape(tag), tag.replace("</", "</ "), text, flags=re.IGNORECASE)
        return text

    def system_text(self, n_blocks: int) -> str:
        return f"{self.role}\n\n{self.constraints.format(n_blocks=n_blocks)}"

    def user_text(self, question: str, hits: list[Hit]) -> str:
        context = self.context.format(blocks=self.render_blocks(hits), n_blocks=len(hits))
        return f"{context}\n\n{self.instruction.format(question=question, n_blocks=len(hits))}"

    def messages(
        self, question: str, hits: list[Hit], system_role: bool, history: list[dict] | None = None
    ) -> list[dict]:
        """Chat messages; without a system role (Mistral, Llama-2 templates) its text leads the first user turn."""
        system = self.system_text(len(hits))
        turns = [dict(m) for m in history or []] + [{"role": "user", "content": self.user_text(question, hits)}]
        if system_role:
            return [{"role": "system", "content": system}] + turns
        turns[0]["content"] = f"{system}\n\n{turns[0]['content']}"
        return turns


def fit_to_window(
    template: PromptTemplate,
    question: str,
    hits: list[Hit],
    count_tokens: Callable[[str], int],
    window: int,
    reserve_for_answer: int,
    history: list[dict] | None = None,
) -> tuple[list[Hit], list[dict]]:
    """Drop the oldest history, then the lowest-ranked blocks, until the prompt leaves room to answer.

    Chat templates add a few tokens per message; 16 per message covers the templates we know.
    """
    history = list(history or [])
    budget = window - reserve_for_answer

    def size(blocks: list[Hit], turns: list[dict]) -> int:
        text = template.system_text(len(blocks)) + template.user_text(question, blocks)
        return count_tokens(text) + sum(count_tokens(m["content"]) for m in turns) + 16 * (len(turns) + 2)

    kept = list(hits)
    while history and size(kept, history) > budget:
        history = history[2:]  # a user turn and its reply
    while kept and size(kept, history) > budget:
        kept.pop()
    return kept, history


def chat_template_has_system_role(tokenizer) -> bool:
    """Mistral and Llama-2 style templates raise on a system message or silently drop it."""
    probe = [{"role": "system", "content": "SYSTEM-PROBE"}, {"role": "user", "content": "hi"}]
    try:
        rendered = tokenizer.apply_chat_template(probe, tokenize=False, add_generation_prompt=True)
    except Exception:  # jinja raises its own TemplateError subclasses; any failure means "no"
        return False
    return "SYSTEM-PROBE" in rendered
