"""Composed answers (index.compose) against a fake OpenAI-compatible server on loopback."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from index.compose import Composer, Composition
from index.config import Settings
from index.conversation import Turn
from index.models import Answer, AnswerSentence, Citation
from tests.fake_llm_api import (
    API_KEY,
    MODEL,
    FakeLlmApi,
    Reply,
    completion,
    malformed,
    stalled,
    status,
    streamed,
)
from tests.telegram import GIGACHAT, TITLE

PRESS = "This year’s annual press conference will take place on December 19."
MOSCOW = "Putin spoke at an international AI conference in Moscow on Wednesday."
RUSSIAN = "GigaChat разработал Сбербанк, и Кремль будет использовать его для вопросов граждан [1]."


def _answer(question: str = "Кто разработал GigaChat?", language: str = "ru") -> Answer:
    citations = (
        Citation(1, "a", TITLE, 9, None, GIGACHAT, 0.74),
        Citation(2, "a", TITLE, 10, None, PRESS, 0.5),
        Citation(3, "a", TITLE, 2, None, MOSCOW, 0.45),
    )
    return Answer(question, True, (AnswerSentence(GIGACHAT, 1),), citations, language)


def _composer(api: FakeLlmApi, timeout_s: float = 5.0, key: str | None = API_KEY) -> Composer:
    settings = Settings(
        llm_base_url=api.base_url, llm_model=MODEL, llm_api_key=key, llm_timeout_s=timeout_s
    )
    return Composer(settings)


async def _compose(api: FakeLlmApi, answer: Answer | None = None, **kwargs: object) -> Composition:
    composer = _composer(api, **kwargs)  # type: ignore[arg-type]
    try:
        return await composer.compose(answer or _answer())
    finally:
        await composer.aclose()


async def test_a_russian_answer_citing_its_passage_is_sent_composed(fake_llm: FakeLlmApi) -> None:
    fake_llm.reply(completion(RUSSIAN))
    composer = _composer(fake_llm)
    earlier = [Turn("Что такое GigaChat?")]
    composition = await composer.compose(_answer(), earlier)
    await composer.aclose()
    assert composition.composed
    assert composition.failure is None
    answer = composition.answer
    assert answer.text == (
        "GigaChat разработал Сбербанк, и Кремль будет использовать его для вопросов граждан. [1]"
    )
    assert answer.composed_by == MODEL
    assert answer.cited == answer.citations[:1]  # the sources follow the markers
    assert answer.to_dict()["composed"] is True
    assert answer.to_dict()["model"] == MODEL
    # What the model was asked: the question's language, the context, the numbered passages.
    [request] = fake_llm.requests
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == MODEL
    assert "in Russian" in request.body["messages"][0]["content"]
    assert "- Что такое GigaChat?" in request.user_text
    assert f"[1] {TITLE}: {GIGACHAT}" in request.user_text
    assert f"[3] {TITLE}: {MOSCOW}" in request.user_text
    assert request.user_text.endswith("Question: Кто разработал GigaChat?")


async def test_a_streamed_answer_is_read(fake_llm: FakeLlmApi) -> None:
    fake_llm.reply(
        streamed(
            ["GigaChat разработал ", "Сбербанк [1]", ". Пресс-конференция — ", "19 декабря [2]."]
        )
    )
    composition = await _compose(fake_llm)
    assert composition.composed
    assert composition.answer.text == (
        "GigaChat разработал Сбербанк. [1] Пресс-конференция — 19 декабря. [2]"
    )
    assert composition.answer.cited == composition.answer.citations[:2]


async def test_without_a_key_no_authorization_is_sent(fake_llm: FakeLlmApi) -> None:
    fake_llm.reply(completion(RUSSIAN))
    assert (await _compose(fake_llm, key=None)).composed
    assert "Authorization" not in fake_llm.requests[0].headers


@pytest.mark.parametrize(
    ("text", "failure"),
    [
        pytest.param("GigaChat разработал Сбербанк [4].", "unverified", id="cites-4-of-3"),
        pytest.param("GigaChat появился в 2021 году [1].", "unverified", id="number-not-there"),
        pytest.param("GigaChat разработал Сбербанк.", "unverified", id="no-marker"),
        pytest.param("", "empty", id="empty"),
        pytest.param("   \n ", "empty", id="blank"),
        pytest.param(None, "empty", id="null-content"),
    ],
)
async def test_an_answer_that_fails_the_checks_falls_back_to_the_extractive_one(
    fake_llm: FakeLlmApi, text: str | None, failure: str
) -> None:
    fake_llm.reply(completion(text))
    extractive = _answer()
    composition = await _compose(fake_llm, extractive)
    assert composition.answer is extractive
    assert not composition.composed
    assert composition.failure == failure
    assert composition.answer.to_dict()["composed"] is False


async def test_only_the_sentence_with_an_unknown_number_is_dropped(fake_llm: FakeLlmApi) -> None:
    fake_llm.reply(completion("GigaChat разработал Сбербанк [1]. Он появился в 2021 году [1]."))
    composition = await _compose(fake_llm)
    assert composition.answer.text == "GigaChat разработал Сбербанк. [1]"
    [dropped] = composition.dropped
    assert dropped.reason == "not in the passages it cites: 2021"


@pytest.mark.parametrize(
    ("reply", "failure", "requests"),
    [
        pytest.param(status(500), "http 500", 3, id="500-three-attempts"),
        pytest.param(status(404), "http 404", 1, id="404-not-retried"),
        pytest.param(malformed(), "malformed", 1, id="malformed-json"),
        pytest.param(Reply(body=b'{"choices": []}'), "malformed", 1, id="no-choices"),
        pytest.param(
            Reply(content_type="text/event-stream", events=["{not json"]),
            "malformed",
            1,
            id="malformed-stream",
        ),
        pytest.param(status(429, retry_after_s=30), "http 429", 1, id="429-longer-than-deadline"),
        pytest.param(completion("Сбербанк [1]. " * 3000), "malformed", 1, id="far-too-long"),
    ],
)
async def test_a_failing_model_falls_back_to_the_extractive_answer(
    fake_llm: FakeLlmApi, reply: Reply, failure: str, requests: int
) -> None:
    fake_llm.reply(reply)
    extractive = _answer()
    started = time.monotonic()
    composition = await _compose(fake_llm, extractive, timeout_s=2.0)
    assert time.monotonic() - started < 2.0
    assert composition.answer is extractive
    assert composition.failure == failure
    assert len(fake_llm.requests) == requests


async def test_429_then_success_is_composed(fake_llm: FakeLlmApi) -> None:
    fake_llm.reply(status(429, retry_after_s=0.1), completion(RUSSIAN))
    composition = await _compose(fake_llm)
    assert composition.composed
    assert len(fake_llm.requests) == 2


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(stalled(20), id="20s-stall"),
        # Each event comes within any per-read timeout; the deadline is for the whole answer.
        pytest.param(streamed(["GigaChat "] * 40, gap_s=0.1), id="slow-drip-stream"),
        pytest.param(status(503, retry_after_s=0.6), id="503-retried-past-deadline"),
    ],
)
async def test_the_extractive_answer_comes_within_the_timeout(
    fake_llm: FakeLlmApi, reply: Reply
) -> None:
    fake_llm.reply(reply)
    extractive = _answer()
    started = time.monotonic()
    composition = await _compose(fake_llm, extractive, timeout_s=1.0)
    elapsed = time.monotonic() - started
    assert composition.answer is extractive
    assert composition.failure in ("timeout", "http 503")
    assert 0.5 <= elapsed < 1.0 + 0.5


async def test_a_refused_connection_falls_back_at_once() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(llm_base_url=f"http://127.0.0.1:{port}/v1", llm_model=MODEL)
    composer = Composer(settings)
    started = time.monotonic()
    composition = await composer.compose(_answer())
    await composer.aclose()
    assert composition.failure == "connection"
    assert time.monotonic() - started < 1.0


async def test_a_not_found_answer_is_never_sent_to_the_model(fake_llm: FakeLlmApi) -> None:
    refused = Answer("What did Macron say?", False, unknown=("Macron",))
    composition = await _compose(fake_llm, refused)
    assert composition.answer is refused
    assert fake_llm.requests == []


async def test_the_api_key_is_in_no_log_line_and_no_repr(
    fake_llm: FakeLlmApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    fake_llm.reply(completion(RUSSIAN), status(500), malformed(), completion("no marker"))
    for _ in range(4):
        await _compose(fake_llm, timeout_s=2.0)
    assert len(fake_llm.requests) >= 4
    assert any(r.name.startswith(("httpx", "httpcore")) for r in caplog.records)
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    assert API_KEY not in logged
    settings = Settings(llm_base_url=fake_llm.base_url, llm_model=MODEL, llm_api_key=API_KEY)
    assert API_KEY not in repr(settings)
    assert API_KEY not in repr(Composer(settings))
