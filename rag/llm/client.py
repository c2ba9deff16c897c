"""A client for any OpenAI-compatible server (vLLM here), and the model's own tokenizer for budgets."""

from __future__ import annotations

from collections.abc import Generator
from functools import cached_property

from rag.errors import LLMStreamError, LLMUnavailable
from rag.llm.tokenizer import ModelTokenizer


class LLMClient:
    def __init__(self, base_url: str, model: str, api_key: str = "EMPTY", timeout: float = 120.0):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout

    @cached_property
    def _client(self):
        from openai import OpenAI

        return OpenAI(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout, max_retries=0)

    def models(self, timeout: float = 3.0) -> list[str]:
        import httpx  # here, not at the top: `rag retrieve` imports this module and never talks to the LLM

        try:
            r = httpx.get(
                f"{self.base_url}/models", headers={"Authorization": f"Bearer {self.api_key}"}, timeout=timeout
            )
            r.raise_for_status()
            return [m["id"] for m in r.json().get("data", [])]
        except (httpx.HTTPError, ValueError, KeyError) as e:
            raise LLMUnavailable(f"no LLM server answers at {self.base_url} ({type(e).__name__})") from None

    def is_up(self) -> bool:
        try:
            return bool(self.models())
        except LLMUnavailable:
            return False

    @cached_property
    def served_model(self) -> str:
        """The configured name if the server has it, else what the server serves (a remote box may
        call the same weights by another name)."""
        served = self.models()
        return self.model if self.model in served else served[0]

    def stream_chat(
        self,
        messages: list[dict],
        temperature: float = 0.0,
        max_tokens: int = 320,
        frequency_penalty: float = 0.0,
        repetition_penalty: float = 1.0,
        stop: list[str] | None = None,
    ) -> Generator[str, None, str]:
        """The reply's text pieces as they arrive; the generator's return value is the finish reason."""
        import httpx
        import openai

        try:
            stream = self._client.chat.completions.create(
                model=self.served_model,
                messages=messages,
                temperature=temperature,
                max_tokens=max_tokens,
                frequency_penalty=frequency_penalty,
                stop=stop or None,
                stream=True,
                # vLLM's own sampling parameter; sent only when set, so other servers see a plain request
                extra_body={"repetition_penalty": repetition_penalty} if repetition_penalty != 1.0 else None,
            )
        except openai.APIConnectionError as e:
            raise LLMUnavailable(f"no LLM server answers at {self.base_url} ({e})") from None
        except openai.APIStatusError as e:
            raise LLMStreamError(f"the LLM server refused the request: {e.status_code} {e.message}") from None
        finished = None
        try:
            for event in stream:
                if not event.choices:
                    continue
                choice = event.choices[0]
                if choice.delta.content:
                    yield choice.delta.content
                finished = finished or choice.finish_reason
        except (openai.APIError, httpx.HTTPError) as e:
            raise LLMStreamError(f"the LLM server stopped mid-answer ({type(e).__name__}: {e})") from None
        finally:
            # also when the caller stops reading: closing the connection makes vLLM abort the request
            stream.close()
        if not finished:
            # a server killed mid-answer can close the stream cleanly; only a finish reason means "done"
            raise LLMStreamError("the LLM server stopped mid-answer (the stream ended without a finish reason)")
        return finished  # "stop", or "length" when max_tokens cut the reply

    def complete(self, messages: list[dict], **sampling) -> str:
        return "".join(self.stream_chat(messages, **sampling))


class TokenCounter:
    """Counts with the model's tokenizer when it is on disk; otherwise a conservative estimate, so a
    remote model that we cannot load still gets a prompt that fits."""

    def __init__(self, model_path: str | None):
        self.model_path = model_path

    @cached_property
    def tokenizer(self) -> ModelTokenizer | None:
        return ModelTokenizer.load(self.model_path)

    def __call__(self, text: str) -> int:
        if self.tokenizer is None:
            return len(text) // 3 + 1
        return len(self.tokenizer.encode(text, add_special_tokens=False))
