"""The fake Bot API itself: it must reject what Telegram rejects, or the bot tests prove nothing."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fake_bot_api import TOKEN, BadRequestError, FakeBotApi, check_text, parse_html


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("<b>unclosed", id="unclosed"),
        pytest.param("<b><i>x</b></i>", id="crossed"),
        pytest.param("<div>x</div>", id="unknown-tag"),
        pytest.param("1 < 2", id="raw-lt"),
        pytest.param("AT&T", id="raw-amp"),
        pytest.param("&nbsp;", id="unsupported-entity"),
        pytest.param('<a title="x">x</a>', id="a-without-href"),
        pytest.param('<span class="red">x</span>', id="span-not-spoiler"),
        pytest.param("</b>", id="stray-end-tag"),
        pytest.param("<b></b>", id="empty-after-parsing"),
        pytest.param("", id="empty"),
        pytest.param("x" * 4097, id="too-long"),
        pytest.param("😀" * 2049, id="too-long-in-utf16"),
    ],
)
def test_rejects_bad_html(html: str) -> None:
    with pytest.raises(BadRequestError):
        check_text(html, "HTML")


@pytest.mark.parametrize(
    ("html", "visible"),
    [
        pytest.param("<b>x</b> &amp; &lt;y&gt; &quot;", 'x & <y> "', id="entities"),
        pytest.param('<a href="https://e.com/?a=1&amp;b=2">l</a>', "l", id="link"),
        pytest.param("<blockquote expandable>q</blockquote>", "q", id="blockquote"),
        pytest.param('<span class="tg-spoiler">s</span>', "s", id="spoiler"),
        pytest.param("2 > 1", "2 > 1", id="raw-gt-is-fine"),
        pytest.param("&#128512;", "😀", id="numeric-entity"),
    ],
)
def test_accepts_good_html(html: str, visible: str) -> None:
    assert parse_html(html) == visible


def test_accepts_4096_utf16_units() -> None:
    assert check_text("😀" * 2048, "HTML")
    assert check_text("<b>" + "x" * 4096 + "</b>", "HTML")  # tags do not count


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    fake = FakeBotApi().start()
    yield fake
    fake.stop()


def _post(api: FakeBotApi, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    body = json.dumps(params).encode()
    request = urllib.request.Request(
        f"{api.base_url}{TOKEN}/{method}", body, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def test_rejects_long_callback_data_and_bad_keyboards(api: FakeBotApi) -> None:
    def send(markup: object) -> int:
        return _post(api, "sendMessage", {"chat_id": 1, "text": "x", "reply_markup": markup})[0]

    assert send({"inline_keyboard": [[{"text": "[1]", "callback_data": "x" * 64}]]}) == 200
    assert send({"inline_keyboard": [[{"text": "[1]", "callback_data": "x" * 65}]]}) == 400
    assert send({"inline_keyboard": [[]]}) == 400
    assert send({"inline_keyboard": [[{"text": "", "callback_data": "x"}]]}) == 400
    assert send({"inline_keyboard": [[{"text": "t"}]]}) == 400
    assert send({"inline_keyboard": [[{"text": "t", "callback_data": "x"}] * 9]}) == 400


def test_injected_failures_then_success(api: FakeBotApi) -> None:
    api.fail_next("sendMessage", status=429, retry_after=3)
    api.fail_next("sendMessage", status=500)
    status, body = _post(api, "sendMessage", {"chat_id": 1, "text": "x"})
    assert (status, body["parameters"]) == (429, {"retry_after": 3})
    assert _post(api, "sendMessage", {"chat_id": 1, "text": "x"})[0] == 500
    assert _post(api, "sendMessage", {"chat_id": 1, "text": "x"})[0] == 200
    api.conflict_forever = True
    assert _post(api, "getUpdates", {"timeout": 0})[0] == 409


def test_wrong_token_is_unauthorized(api: FakeBotApi) -> None:
    request = urllib.request.Request(f"{api.base_url}1:WRONG/getMe", b"{}")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 401
    info.value.close()


def test_get_updates_long_polls_and_confirms_with_offset(api: FakeBotApi) -> None:
    api.enqueue({"message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}})
    status, body = _post(api, "getUpdates", {"timeout": 0})
    [update] = body["result"]
    assert _post(api, "getUpdates", {"timeout": 0})[1]["result"] == [update]  # not confirmed
    assert _post(api, "getUpdates", {"offset": update["update_id"] + 1, "timeout": 0.2})[1] == {
        "ok": True,
        "result": [],
    }


def test_callback_query_can_be_answered_once(api: FakeBotApi) -> None:
    user = {"id": 5, "is_bot": False, "first_name": "R"}
    query_id = api.press_button(
        user, {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}}, "d"
    )
    assert _post(api, "answerCallbackQuery", {"callback_query_id": query_id})[0] == 200
    assert _post(api, "answerCallbackQuery", {"callback_query_id": query_id})[0] == 400
    assert _post(api, "answerCallbackQuery", {"callback_query_id": "nope"})[0] == 400
