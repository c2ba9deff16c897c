"""The LLM's tokenizer from its model folder, read with `tokenizers` and jinja2 rather than transformers:
counting prompt tokens and probing the chat template cost milliseconds, not a transformers import."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path


@dataclass
class ModelTokenizer:
    folder: Path

    @classmethod
    def load(cls, folder: str | Path | None) -> ModelTokenizer | None:
        """None when the folder has no tokenizer.json (a remote model, or one not prepared yet)."""
        if folder is None or not (Path(folder) / "tokenizer.json").is_file():
            return None
        return cls(Path(folder))

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(self.folder / "tokenizer.json"))

    @cached_property
    def _config(self) -> dict:
        path = self.folder / "tokenizer_config.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=add_special_tokens).ids

    @cached_property
    def chat_template(self) -> str | None:
        path = self.folder / "chat_template.jinja"  # where transformers saves it since 4.50
        if path.is_file():
            return path.read_text()
        template = self._config.get("chat_template")
        if isinstance(template, list):  # named templates: the default one is the chat template
            template = next((t["template"] for t in template if t.get("name") == "default"), None)
        return template

    @cached_property
    def _compiled(self):
        # the environment transformers renders chat templates in (utils/chat_template_utils.py)
        from jinja2.ext import loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def raise_exception(message):
            raise ValueError(message)

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
        env.globals["raise_exception"] = raise_exception
        env.filters["tojson"] = lambda value, indent=None: json.dumps(value, indent=indent, ensure_ascii=False)
        return env.from_string(self.chat_template)

    def _special_tokens(self) -> dict[str, str]:
        tokens = {}
        for key, value in self._config.items():
            if key.endswith("_token") and value is not None:
                tokens[key] = value["content"] if isinstance(value, dict) else value
        return tokens

    def apply_chat_template(
        self, messages: list[dict], tokenize: bool = False, add_generation_prompt: bool = True
    ) -> str:
        """The prompt text the server will build from these messages (text only: `tokenize` must be False)."""
        if tokenize:
            raise ValueError("ModelTokenizer renders chat templates to text only")
        if self.chat_template is None:
            raise ValueError(f"{self.folder}: the model has no chat template")
        return self._compiled.render(
            messages=messages, add_generation_prompt=add_generation_prompt, **self._special_tokens()
        )
