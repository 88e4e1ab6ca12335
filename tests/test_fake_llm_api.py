"""The fake model server refuses what an OpenAI-compatible server refuses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fake_llm_api import API_KEY, MODEL, FakeLlmApi, completion

VALID: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}


@pytest.mark.parametrize(
    ("body", "key", "status"),
    [
        pytest.param(VALID, API_KEY, 200, id="valid"),
        pytest.param(VALID, None, 401, id="no-key"),
        pytest.param(VALID, "sk-wrong", 401, id="wrong-key"),
        pytest.param({"model": MODEL}, API_KEY, 400, id="no-messages"),
        pytest.param(
            {"model": MODEL, "messages": [{"role": "robot", "content": "x"}]},
            API_KEY,
            400,
            id="bad-role",
        ),
        pytest.param(
            {"model": MODEL, "messages": [{"role": "user"}]}, API_KEY, 400, id="no-content"
        ),
        pytest.param({**VALID, "model": "gpt-9"}, API_KEY, 404, id="unknown-model"),
    ],
)
def test_requests_a_real_server_refuses_are_refused(
    body: dict[str, Any], key: str | None, status: int
) -> None:
    with FakeLlmApi(api_key=API_KEY) as api:
        api.reply(completion("Hello [1]."))
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = httpx.post(f"{api.base_url}/chat/completions", json=body, headers=headers)
        assert response.status_code == status
        assert len(api.requests) == (1 if status == 200 else 0)


def test_a_body_that_is_not_json_is_a_400() -> None:
    with FakeLlmApi() as api:
        response = httpx.post(f"{api.base_url}/chat/completions", content=b"{oops")
        assert response.status_code == 400
        assert "error" in response.json()
