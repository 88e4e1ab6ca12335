"""The fake Bot API's flood limits: Telegram's per-chat, group and overall limits, answered with
429 and ``retry_after`` exactly as Telegram answers them, and the hooks bot tests use (a 429
storm, a slow response after delivery, limits off). Real HTTP with httpx; no bot needed.

Most tests drive the limiter with a manual clock, so a minute of group budget takes no time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.fake_bot_api import TOKEN, FakeBotApi, FloodLimits, group_chat, user_object

MakeApi = Callable[..., FakeBotApi]


class ManualClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_api() -> Iterator[MakeApi]:
    """Start fakes with the given settings; all are stopped after the test."""
    started: list[FakeBotApi] = []

    def make(**settings: Any) -> FakeBotApi:
        api = FakeBotApi(**settings).start()
        started.append(api)
        return api

    yield make
    for api in started:
        api.stop()


@pytest.fixture
def api(make_api: MakeApi, clock: ManualClock) -> FakeBotApi:
    """A fake with the default (Telegram's) limits on the manual clock."""
    return make_api(clock=clock)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:  # keep-alive, as PTB's client
        yield client


def call(
    http: httpx.Client, api: FakeBotApi, method: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    response = http.post(f"{api.base_url}{TOKEN}/{method}", json=params)
    return response.status_code, response.json()


def send(http: httpx.Client, api: FakeBotApi, chat_id: int | str, text: str) -> int:
    return call(http, api, "sendMessage", chat_id=chat_id, text=text)[0]


def too_many(retry_after: int) -> dict[str, Any]:
    """Telegram's answer beyond a flood limit."""
    return {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }


# --- one chat: a token bucket, 1/s with a burst of 3 --------------------------------------------


def test_a_burst_of_three_passes_and_the_fourth_is_refused_undelivered(
    api: FakeBotApi, http: httpx.Client, clock: ManualClock
) -> None:
    assert [send(http, api, 7, f"m{n}") for n in (1, 2, 3)] == [200, 200, 200]
    assert call(http, api, "sendMessage", chat_id=7, text="m4") == (429, too_many(1))
    assert api.sent_texts(7) == ["m1", "m2", "m3"]
    [refused] = api.refusals("sendMessage", chat_id=7)
    assert (refused.status, refused.retry_after, refused.params["text"]) == (429, 1, "m4")
    clock.advance(0.5)  # half a token: still refused, and still "retry after 1"
    assert call(http, api, "sendMessage", chat_id=7, text="m4") == (429, too_many(1))
    clock.advance(0.5)
    assert send(http, api, 7, "m4") == 200
    assert send(http, api, 7, "m5") == 429  # one token per second, no new burst
    assert api.sent_texts(7) == ["m1", "m2", "m3", "m4"]
    assert api.refused() == 3
    assert api.refused("sendChatAction") == 0


def test_waiting_retry_after_on_the_real_clock_is_enough(
    make_api: MakeApi, http: httpx.Client
) -> None:
    api = make_api()  # time.monotonic
    assert [send(http, api, 7, f"m{n}") for n in (1, 2, 3)] == [200, 200, 200]
    status, body = call(http, api, "sendMessage", chat_id=7, text="m4")
    assert (status, body) == (429, too_many(1))
    time.sleep(body["parameters"]["retry_after"])
    assert send(http, api, 7, "m4") == 200
    assert api.sent_texts(7) == ["m1", "m2", "m3", "m4"]


def test_refused_and_bad_requests_use_no_budget(
    api: FakeBotApi, http: httpx.Client, clock: ManualClock
) -> None:
    for _ in range(3):  # refused as bad requests: nothing delivered, nothing spent
        assert call(http, api, "sendMessage", chat_id=7, text="<b>x", parse_mode="HTML")[0] == 400
    assert [send(http, api, 7, f"m{n}") for n in (1, 2, 3)] == [200, 200, 200]
    assert [send(http, api, 7, "again") for _ in range(10)] == [429] * 10
    clock.advance(1.0)  # had the ten refusals cost anything, this would still be refused
    assert send(http, api, 7, "m4") == 200
    assert api.sent_texts(7) == ["m1", "m2", "m3", "m4"]
    assert api.refused("sendMessage") == 10


def test_retry_after_is_the_whole_seconds_until_the_call_is_allowed(
    make_api: MakeApi, http: httpx.Client, clock: ManualClock
) -> None:
    api = make_api(
        clock=clock, flood_limits=FloodLimits(per_chat_rate_per_s=0.25, per_chat_burst=1)
    )
    assert send(http, api, 7, "m1") == 200
    assert call(http, api, "sendMessage", chat_id=7, text="m2") == (429, too_many(4))
    clock.advance(1.5)  # 2.5 s to go
    assert call(http, api, "sendMessage", chat_id=7, text="m2") == (429, too_many(3))
    clock.advance(2.5)
    assert send(http, api, 7, "m2") == 200


def test_chats_have_their_own_buckets(api: FakeBotApi, http: httpx.Client) -> None:
    assert [send(http, api, 7, "x") for _ in range(4)] == [200, 200, 200, 429]
    assert [send(http, api, 8, "y") for _ in range(4)] == [200, 200, 200, 429]
    assert (api.sent_texts(7), api.sent_texts(8)) == (["x"] * 3, ["y"] * 3)


def test_chat_actions_and_edits_draw_from_the_chat_bucket(
    api: FakeBotApi, http: httpx.Client, clock: ManualClock
) -> None:
    assert call(http, api, "sendChatAction", chat_id=7, action="typing")[0] == 200
    assert call(http, api, "sendChatAction", chat_id=7, action="typing")[0] == 200
    assert send(http, api, 7, "answer") == 200
    # The typing indicators spent two of the three: the answer's edit and a second answer wait.
    message_id = api.sent(7)[0].result["message_id"]
    edit = {"chat_id": 7, "message_id": message_id, "text": "edited"}
    assert call(http, api, "editMessageText", **edit) == (429, too_many(1))
    assert call(http, api, "sendChatAction", chat_id=7, action="typing") == (429, too_many(1))
    assert send(http, api, 7, "second answer") == 429
    assert api.sent_texts(7) == ["answer"]
    assert api.sent(7)[0].result["text"] == "answer"  # the refused edit changed nothing
    assert [api.refused(m) for m in ("editMessageText", "sendChatAction", "sendMessage")] == [
        1,
        1,
        1,
    ]
    clock.advance(1.0)
    assert call(http, api, "editMessageText", **edit)[0] == 200


# --- groups: in addition 20 per rolling minute --------------------------------------------------


def test_group_allows_20_calls_per_rolling_minute(
    api: FakeBotApi, http: httpx.Client, clock: ManualClock
) -> None:
    group = -100200300
    for n in range(20):  # one a second: the bucket never runs dry
        assert send(http, api, group, f"g{n}") == 200, n
        clock.advance(1.0)
    # t = 20 s; the first of the 20 leaves the window at t = 60 s.
    assert call(http, api, "sendMessage", chat_id=group, text="g20") == (429, too_many(40))
    clock.advance(39.5)
    assert call(http, api, "sendMessage", chat_id=group, text="g20") == (429, too_many(1))
    clock.advance(0.5)
    assert send(http, api, group, "g20") == 200
    # The bucket is full again (3), but the window holds 20 calls again: the next waits for the
    # call made at t = 1 s to leave it.
    assert call(http, api, "sendMessage", chat_id=group, text="g21") == (429, too_many(1))
    assert api.sent_texts(group) == [f"g{n}" for n in range(21)]
    assert api.refused(chat_id=group) == 3


def test_group_window_applies_to_a_chat_recorded_as_a_group_and_not_to_private_chats(
    api: FakeBotApi, http: httpx.Client, clock: ManualClock
) -> None:
    user = user_object()
    api.send_text(user, "hello", chat=group_chat(555))  # a positive id, but type "supergroup"
    private = user["id"]
    for n in range(20):
        assert send(http, api, 555, f"g{n}") == 200, n
        assert send(http, api, private, f"p{n}") == 200, n
        clock.advance(1.0)
    assert send(http, api, 555, "g20") == 429
    assert send(http, api, private, "p20") == 200  # 1/s in a private chat, however long
    assert len(api.sent_texts(555)) == 20
    assert len(api.sent_texts(private)) == 21


# --- overall: 30 per rolling second -------------------------------------------------------------


def test_at_most_30_calls_per_second_across_chats(
    api: FakeBotApi, http: httpx.Client, clock: ManualClock
) -> None:
    chats = list(range(1, 41))
    statuses = [call(http, api, "sendMessage", chat_id=c, text=f"to {c}") for c in chats]
    assert [s for s, _ in statuses] == [200] * 30 + [429] * 10
    assert [body for _, body in statuses[30:]] == [too_many(1)] * 10
    assert api.sent_texts() == [f"to {c}" for c in chats[:30]]
    clock.advance(0.5)
    assert send(http, api, 31, "to 31") == 429
    clock.advance(0.5)
    assert [send(http, api, c, f"to {c}") for c in chats[30:]] == [200] * 10
    assert api.sent_texts() == [f"to {c}" for c in chats]
    assert api.refused() == 11


# --- never limited ------------------------------------------------------------------------------


def test_uncounted_methods_are_never_refused(api: FakeBotApi, http: httpx.Client) -> None:
    for chat in range(1, 31):  # the overall budget is spent
        assert send(http, api, chat, "x") == 200
    assert [send(http, api, 1, "x"), send(http, api, 99, "x")] == [429, 429]
    user = user_object()
    for _ in range(31):
        assert call(http, api, "getMe")[0] == 200
        assert call(http, api, "getUpdates", timeout=0)[0] == 200
        assert call(http, api, "getMyCommands")[0] == 200
        query = api.press_button(user, {"message_id": 1, "date": 0, "chat": {"id": 1}}, "d")
        assert call(http, api, "answerCallbackQuery", callback_query_id=query)[0] == 200
        inline = api.inline_query(user, "q")
        assert call(http, api, "answerInlineQuery", inline_query_id=inline, results=[])[0] == 200
    commands = [{"command": "start", "description": "Start"}]
    assert call(http, api, "setMyCommands", commands=commands)[0] == 200
    assert call(http, api, "deleteWebhook", drop_pending_updates=False)[0] == 200
    assert {c.method for c in api.refusals()} == {"sendMessage"}
    assert api.refused() == 2


def test_limits_off_let_everything_through(make_api: MakeApi, http: httpx.Client) -> None:
    api = make_api(flood_limits=False)
    assert api.limits is None
    texts = [f"m{n}" for n in range(50)]
    assert [send(http, api, 7, t) for t in texts] == [200] * 50
    assert [send(http, api, -100, t) for t in texts] == [200] * 50
    assert api.sent_texts(7) == texts
    assert api.sent_texts(-100) == texts
    assert api.refused() == 0


def test_limits_are_on_by_default_in_the_bot_tests_fixture(
    fake_api: FakeBotApi, http: httpx.Client
) -> None:
    assert fake_api.limits == FloodLimits(
        per_chat_rate_per_s=1.0, per_chat_burst=3, group_per_minute=20, global_per_s=30
    )
    assert [send(http, fake_api, 7, "x") for _ in range(4)] == [200, 200, 200, 429]


# --- hooks --------------------------------------------------------------------------------------


def test_storm_refuses_one_chat_for_its_duration(
    api: FakeBotApi, http: httpx.Client, clock: ManualClock
) -> None:
    api.storm(7, 60)
    assert call(http, api, "sendMessage", chat_id=7, text="a") == (429, too_many(60))
    assert call(http, api, "sendChatAction", chat_id=7, action="typing") == (429, too_many(60))
    assert send(http, api, 8, "other chat") == 200
    assert call(http, api, "getMe")[0] == 200
    clock.advance(15.5)
    assert call(http, api, "sendMessage", chat_id=7, text="a") == (429, too_many(45))
    clock.advance(44)
    assert call(http, api, "sendMessage", chat_id=7, text="a") == (429, too_many(1))
    clock.advance(0.5)
    # Over, and the refusals spent nothing: a full burst.
    assert [send(http, api, 7, f"m{n}") for n in (1, 2, 3, 4)] == [200, 200, 200, 429]
    assert api.sent_texts(7) == ["m1", "m2", "m3"]
    assert [c.retry_after for c in api.refusals(chat_id=7)] == [60, 60, 45, 1, 1]


def test_storm_works_with_limits_off(
    make_api: MakeApi, http: httpx.Client, clock: ManualClock
) -> None:
    api = make_api(clock=clock, flood_limits=False)
    api.storm(7, 2)
    assert call(http, api, "sendMessage", chat_id=7, text="a") == (429, too_many(2))
    clock.advance(2)
    assert [send(http, api, 7, "a") for _ in range(5)] == [200] * 5


def test_slow_response_delivers_once_and_answers_late(
    make_api: MakeApi, http: httpx.Client
) -> None:
    api = make_api()
    api.slow_response("sendMessage", 1.0)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        http.post(
            f"{api.base_url}{TOKEN}/sendMessage",
            json={"chat_id": 7, "text": "the answer"},
            timeout=0.3,
        )
    assert api.sent_texts(7) == ["the answer"]  # Telegram accepted it: it is in the chat
    [delivered] = api.calls_of("sendMessage", ok=None)
    assert (delivered.status, delivered.response_delay_s) == (200, 1.0)
    assert send(http, api, 7, "next") == 200  # only one call was slowed
    assert time.monotonic() - started < 1.0
    api.slow_response("sendMessage", 0.5)
    started = time.monotonic()
    status, body = call(http, api, "sendMessage", chat_id=7, text="late")
    assert time.monotonic() - started >= 0.5
    assert (status, body["result"]["text"]) == (200, "late")
    assert api.sent_texts(7) == ["the answer", "next", "late"]


def test_slow_response_skips_refused_calls(api: FakeBotApi, http: httpx.Client) -> None:
    api.fail_next("sendMessage", status=429, retry_after=2)
    api.slow_response("sendMessage", 0.4)
    assert call(http, api, "sendMessage", chat_id=7, text="a") == (429, too_many(2))
    started = time.monotonic()
    assert send(http, api, 7, "a") == 200
    assert time.monotonic() - started >= 0.4
    assert [c.response_delay_s for c in api.calls_of("sendMessage", ok=None)] == [0.0, 0.4]
