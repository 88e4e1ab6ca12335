"""Composed answers: a language model rewrites the extractive answer from its numbered passages,
in the question's language, and only what ``index.verify`` can check is kept.

Off unless ``LLM_BASE_URL`` is set. The model is any OpenAI-compatible server (Ollama,
llama.cpp's server, vLLM, a hosted API), reached with httpx at ``{LLM_BASE_URL}/chat/completions``;
a streamed (SSE) and a plain JSON answer are both read. Retrieval and the "not found" decision stay
the engine's: only an answer that was found is composed, from the passages it cites.

Whatever goes wrong (a timeout, a refused connection, 429/5xx, malformed JSON, an empty answer,
no sentence that passes the checks) the extractive answer is returned, within ``LLM_TIMEOUT_S``
of the call: the deadline covers every attempt and every wait between them. The API key is sent
in a header only; it is in no log line, no error message and no repr.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from index.config import Settings
from index.conversation import Turn
from index.errors import ModelError
from index.models import Answer
from index.verify import Checked, Dropped, check_composition

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

LANGUAGE_NAMES = {"en": "English", "ru": "Russian"}
MAX_TOKENS = 300
# A model that ignores max_tokens is read no further than this (a short answer is ~300 chars).
MAX_ANSWER_CHARS = 4000
# 429 and these 5xx are worth another attempt while the deadline allows; others are not.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 3
FIRST_BACKOFF_S = 0.2
SYSTEM_PROMPT = (
    "You answer a reader's question about news articles using only the numbered passages you "
    "are given. Write a short answer, one to three sentences, in {language}. End every sentence "
    "with the markers of the passages it draws on, like [1] or [1][2]. Use only names, numbers "
    "and dates that the passages state. If the passages do not answer the question, say so in "
    "one sentence without a marker."
)


@dataclass(frozen=True)
class Composition:
    """What composing gave: the answer to send (composed, or the extractive one it started
    from), and why the extractive one was kept, if it was."""

    answer: Answer
    failure: str | None = None  # timeout, connection, http 429, malformed, empty, unverified
    dropped: tuple[Dropped, ...] = ()
    seconds: float = 0.0

    @property
    def composed(self) -> bool:
        return self.answer.composed_by is not None


class Composer:
    """Composes answers with the language model the settings name (``Settings.composes``).

    One ``httpx.AsyncClient`` per composer, made on first use in the running event loop; call
    ``aclose`` when done. ``compose`` may run for several chats at once.

    Args:
        settings: LLM_BASE_URL, LLM_MODEL, LLM_API_KEY and LLM_TIMEOUT_S.
        transport: an httpx transport to use instead of the network (tests use real HTTP).
    """

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        if not settings.llm_base_url or not settings.llm_model:
            raise ValueError("Composer needs LLM_BASE_URL and LLM_MODEL (Settings.composes)")
        self.model = settings.llm_model
        self.timeout_s = settings.llm_timeout_s
        self._url = settings.llm_base_url.rstrip("/") + "/chat/completions"
        self._api_key = settings.llm_api_key
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:  # the key stays out, whatever is logged
        return f"Composer(model={self.model!r}, url={self._url!r})"

    async def compose(self, answer: Answer, context: Sequence[Turn] = ()) -> Composition:
        """The answer rewritten by the model from its citations, every sentence checked; the
        extractive ``answer`` itself when it was not found or the model fails.

        Args:
            answer: the engine's (extractive) answer.
            context: the conversation's earlier turns, oldest first.

        Returns:
            A Composition; never raises for the model's or the network's failures, and returns
            within ``LLM_TIMEOUT_S``.
        """
        if not answer.found or not answer.citations:
            return Composition(answer)
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout_s):
                text = await self._complete(chat_messages(answer, context), started)
        except TimeoutError:
            return self._fallback(answer, "timeout", started)
        except ModelError as exc:
            return self._fallback(answer, exc.kind, started)
        checked = check_composition(text, answer.citations)
        return self._result(answer, checked, started)

    def _result(self, answer: Answer, checked: Checked, started: float) -> Composition:
        for dropped in checked.dropped:
            logger.info("Dropped a composed sentence (%s): %s", dropped.reason, dropped.sentence)
        if not checked.sentences:
            fallback = self._fallback(answer, "unverified", started)
            return dataclasses.replace(fallback, dropped=checked.dropped)
        composed = dataclasses.replace(answer, sentences=checked.sentences, composed_by=self.model)
        return Composition(composed, None, checked.dropped, time.monotonic() - started)

    def _fallback(self, answer: Answer, kind: str, started: float) -> Composition:
        seconds = time.monotonic() - started
        logger.warning(
            "The language model gave no usable answer (%s, after %.1f s); sending the "
            "extractive one",
            kind,
            seconds,
        )
        return Composition(answer, kind, (), seconds)

    async def _complete(self, messages: list[dict[str, str]], started: float) -> str:
        """The model's answer text, with retries for 429/5xx while the deadline allows."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                return await self._request(messages)
            except _RetryableError as exc:
                wait_s = exc.retry_after_s or FIRST_BACKOFF_S * 2**attempt
                left_s = self.timeout_s - (time.monotonic() - started)
                if attempt == MAX_ATTEMPTS - 1 or wait_s >= left_s:
                    raise ModelError(exc.kind) from None
                logger.info(
                    "The language model answered %s; trying again in %.1f s", exc.kind, wait_s
                )
                await asyncio.sleep(wait_s)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _request(self, messages: list[dict[str, str]]) -> str:
        # httpx is imported when an answer is composed: importing it with the engine cost every
        # cold `newsbot ask` 50 ms, composing or not.
        import httpx

        body = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": MAX_TOKENS,
            "stream": True,
        }
        try:
            async with self._http().stream("POST", self._url, json=body) as response:
                if response.status_code in RETRY_STATUSES:
                    await response.aread()
                    raise _RetryableError(response)
                if response.status_code != 200:
                    raise ModelError(f"http {response.status_code}")
                if response.headers.get("content-type", "").startswith("text/event-stream"):
                    text = await _read_stream(response)
                else:
                    text = _message_text(_json(await _read_capped(response)))
        except httpx.TimeoutException:
            raise ModelError("timeout") from None
        except httpx.TransportError as exc:
            raise ModelError("connection", type(exc).__name__) from None
        if not text.strip():
            raise ModelError("empty")
        return text

    def _http(self) -> httpx.AsyncClient:
        import httpx

        if self._client is None:
            headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
            self._client = httpx.AsyncClient(
                headers=headers, timeout=httpx.Timeout(self.timeout_s), transport=self._transport
            )
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client (a later ``compose`` opens a new one)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


class _RetryableError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.kind = f"http {response.status_code}"
        self.retry_after_s: float | None = None
        with contextlib.suppress(ValueError):
            self.retry_after_s = float(response.headers.get("retry-after", ""))


def chat_messages(answer: Answer, context: Sequence[Turn] = ()) -> list[dict[str, str]]:
    """The chat the model is sent: the instructions, then the earlier questions, the numbered
    passages and the question."""
    language = LANGUAGE_NAMES.get(answer.language, "the language of the question")
    parts = []
    if context:
        earlier = "\n".join(f"- {turn.question}" for turn in context)
        parts.append(f"Earlier questions in this conversation, oldest first:\n{earlier}")
    passages = "\n".join(f"[{c.n}] {c.title}: {c.text}" for c in answer.citations)
    parts.append(f"Passages:\n{passages}")
    parts.append(f"Question: {answer.question}")
    return [
        {"role": "system", "content": SYSTEM_PROMPT.format(language=language)},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


async def _read_capped(response: httpx.Response) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > 4 * MAX_ANSWER_CHARS + 4096:  # UTF-8 and the JSON around the text
            raise ModelError("malformed", "the answer is far longer than asked for")
    return bytes(body)


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ModelError("malformed", "the answer is not JSON") from None


def _message_text(payload: Any) -> str:
    """``choices[0].message.content`` of a chat completion."""
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ModelError("malformed", "no choices[0].message.content") from None
    if content is not None and not isinstance(content, str):
        raise ModelError("malformed", "the content is not text")
    return content or ""


async def _read_stream(response: httpx.Response) -> str:
    """The text of a streamed chat completion: the ``delta.content`` of each SSE ``data:``
    event, up to ``[DONE]``."""
    pieces: list[str] = []
    async for line in response.aiter_lines():
        if sum(map(len, pieces)) > MAX_ANSWER_CHARS:
            break  # enough to check; the rest would be cut anyway
        if not line.startswith("data:"):
            continue  # blank separators, comments, "event:" lines
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            delta = _json(data.encode("utf-8"))["choices"][0].get("delta") or {}
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ModelError("malformed", "a streamed event has no choices[0].delta") from None
        content = delta.get("content") if isinstance(delta, dict) else None
        if isinstance(content, str):
            pieces.append(content)
    return "".join(pieces)
