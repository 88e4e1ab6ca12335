"""A fake Telegram Bot API server on 127.0.0.1 that checks requests the way Telegram does.

python-telegram-bot talks real HTTP to it through ``Application.builder().base_url(...)``. It
records every call, serves queued updates to ``getUpdates`` (long polling with ``offset`` and
``timeout``), answers the methods the bot uses, and rejects what Telegram would reject: malformed
or unsupported HTML, empty text, text over 4096 UTF-16 units, callback data over 64 bytes, badly
shaped inline keyboards, unknown or twice-answered callback and inline queries.

Flood limits are enforced by default, modelled on Telegram's documented ones ("about 1 message per
second per chat, short bursts allowed; no more than 20 messages per minute in a group; about 30
messages per second overall"; see ``FloodLimits``). They apply to the counted methods
(``COUNTED_METHODS``: the message-creating ones, ``editMessageText`` and friends, and
``sendChatAction``), per ``chat_id``:

- every chat: a token bucket refilled at 1 call/s holding at most 3 (a burst of 3, then 1/s);
- a group, supergroup or channel (chat id < 0, or that type recorded from an update): in
  addition at most 20 calls in any rolling 60 s;
- all chats together: at most 30 calls in any rolling second.

A call beyond a limit is refused as Telegram refuses it: HTTP 429, ``"Too Many Requests: retry
after N"`` with ``parameters.retry_after = N``, the whole seconds (rounded up) after which that
call would be allowed. A refused call, like a call refused as a bad request (400), uses no budget
and delivers nothing; it is recorded in ``calls`` with status 429. ``getUpdates``, ``getMe``,
``answerCallbackQuery``, ``answerInlineQuery``, ``setMyCommands``, ``deleteWebhook`` and other
methods outside ``COUNTED_METHODS`` are never limited. The limiter reads ``FakeBotApi.clock``
(``time.monotonic`` by default; a test can inject a manual clock).

Test hooks: ``FakeBotApi(flood_limits=False)`` (or a ``FloodLimits``) switches the limits off (or
changes them); ``fail_next`` makes the next N calls of a method fail with 429 (``retry_after``),
500, 403 or 409 (these use no budget); ``storm(chat_id, seconds)`` refuses every counted call to
one chat with 429 for that long; ``slow_response(method, seconds, times)`` executes the next
successful calls of a method (the message is delivered) but answers only after a delay, as when
the bot's read times out after Telegram accepted the message.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TOKEN = "123456:TEST-TOKEN"
BOT_ID = 123456
BOT_USERNAME = "newsbot_test_bot"
MAX_TEXT_UTF16 = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_LONG_POLL_S = 30.0

ALLOWED_TAGS = {
    "b": set(),
    "strong": set(),
    "i": set(),
    "em": set(),
    "u": set(),
    "ins": set(),
    "s": set(),
    "strike": set(),
    "del": set(),
    "a": {"href"},
    "code": {"class"},
    "pre": set(),
    "blockquote": {"expandable"},
    "tg-spoiler": set(),
    "span": {"class"},
    "tg-emoji": {"emoji-id"},
}
ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice"}
_START_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>"
)
_ATTRIBUTE = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(?:([a-zA-Z]+)|#(\d+)|#x([0-9a-fA-F]+));")
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
# The methods Telegram's flood control counts (per chat_id): whatever makes or changes a message in
# a chat, and chat actions (conservative: typing indicators must not eat the answers' budget).
# Listed whether or not this fake implements them (one it does not is a 404 and is not counted).
COUNTED_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendVoice",
        "sendVideoNote",
        "sendSticker",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendPaidMedia",
        "sendInvoice",
        "sendGame",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
        "editMessageText",
        "editMessageCaption",
        "editMessageMedia",
        "editMessageReplyMarkup",
        "editMessageLiveLocation",
        "stopMessageLiveLocation",
        "stopPoll",
        "sendChatAction",
    }
)
GROUP_CHAT_TYPES = frozenset({"group", "supergroup", "channel"})
_EPSILON_S = 1e-9  # float slack, so waiting exactly retry_after is always enough

# Parameters sent as plain strings; everything else PTB sends JSON-encoded.
_STRING_PARAMS = {
    "text",
    "parse_mode",
    "callback_query_id",
    "inline_query_id",
    "action",
    "language_code",
    "next_offset",
    "url",
    "message_text",
}


class BadRequestError(Exception):
    """A request Telegram would answer with 400 Bad Request."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """The text Telegram would show for ``text`` in HTML parse mode, or BadRequestError."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            match = _START_TAG.match(text, i)
            if not match:
                raise BadRequestError(f"Can't parse entities: unexpected < at byte offset {i}")
            _check_tag(match, stack)
            i = match.end()
        elif char == "&":
            match = _ENTITY.match(text, i)
            if not match:
                raise BadRequestError(f"Can't parse entities: unescaped & at offset {i}")
            out.append(_decode_entity(match))
            i = match.end()
        else:
            out.append(char)
            i += 1
    if stack:
        raise BadRequestError(
            f"Can't parse entities: can't find end tag corresponding to start tag {stack[-1]}"
        )
    return "".join(out)


def _check_tag(match: re.Match[str], stack: list[str]) -> None:
    closing, name, attributes = match.group(1) == "/", match.group(2).lower(), match.group(3)
    if name not in ALLOWED_TAGS:
        raise BadRequestError(f'Can\'t parse entities: unsupported start tag "{name}"')
    if closing:
        if attributes.strip() or not stack or stack[-1] != name:
            raise BadRequestError(
                f"Can't parse entities: can't find start tag corresponding to end tag \"{name}\""
            )
        stack.pop()
        return
    values = {
        m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or ""
        for m in _ATTRIBUTE.finditer(attributes)
    }
    if set(values) - ALLOWED_TAGS[name]:
        raise BadRequestError(f"Can't parse entities: unsupported attribute in tag {name}")
    if name == "a" and not values.get("href"):
        raise BadRequestError("Can't parse entities: <a> without href")
    if name == "span" and values.get("class") != "tg-spoiler":
        raise BadRequestError('Can\'t parse entities: tag "span" must have class "tg-spoiler"')
    if "<" in "".join(values.values()):
        raise BadRequestError("Can't parse entities: unescaped < in an attribute")
    stack.append(name)


def _decode_entity(match: re.Match[str]) -> str:
    named, decimal, hexadecimal = match.groups()
    if named is not None:
        if named not in ENTITIES:
            raise BadRequestError(f"Can't parse entities: unsupported HTML entity &{named};")
        return ENTITIES[named]
    return chr(int(decimal) if decimal is not None else int(hexadecimal, 16))


def check_text(text: Any, parse_mode: Any) -> str:
    """The visible text of a message, checked like Telegram checks sendMessage."""
    if not isinstance(text, str) or not text:
        raise BadRequestError("message text is empty")
    if parse_mode not in (None, "", "HTML"):
        raise BadRequestError(f"unsupported parse_mode in this fake: {parse_mode}")
    visible = parse_html(text) if parse_mode == "HTML" else text
    if not visible.strip():
        raise BadRequestError("message text is empty")
    if utf16_len(visible) > MAX_TEXT_UTF16:
        raise BadRequestError("message is too long")
    return visible


def check_inline_keyboard(markup: Any) -> None:
    """Telegram's rules for an InlineKeyboardMarkup."""
    if markup is None:
        return
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        raise BadRequestError("reply markup must be an inline keyboard (object with rows)")
    if sum(len(row) for row in rows if isinstance(row, list)) > 100:
        raise BadRequestError("too many buttons in the keyboard")
    for row in rows:
        if not isinstance(row, list) or not row or len(row) > 8:
            raise BadRequestError("keyboard rows must be non-empty arrays of at most 8 buttons")
        for button in row:
            _check_button(button)


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("text"):
        raise BadRequestError("inline keyboard button text is empty")
    kinds = {"callback_data", "url", "switch_inline_query", "switch_inline_query_current_chat"}
    present = kinds & set(button)
    if len(present) != 1:
        raise BadRequestError("a button must have exactly one action field")
    data = button.get("callback_data")
    if "callback_data" in button and (
        not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64
    ):
        raise BadRequestError("BUTTON_DATA_INVALID")


@dataclass
class ApiCall:
    """One request the bot made, and what the fake answered."""

    method: str
    params: dict[str, Any]
    at: float  # time.perf_counter() when the request arrived
    status: int = 0  # 0 while the call is still being answered (a long poll)
    error: str | None = None
    result: Any = None
    retry_after: int | None = None  # the retry_after of a 429
    response_delay_s: float = 0.0  # slow_response: how long the answer was held back

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def refused(self) -> bool:
        """Answered "429 Too Many Requests" (a flood limit, a storm or an injected 429)."""
        return self.status == 429


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's flood limits for the counted methods (see the module docstring).

    Defaults from https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
    ("avoid sending more than one message per second" in a chat, "short bursts" allowed; "not more
    than 20 messages per minute" in a group; "not more than about 30 messages per second" overall).
    """

    per_chat_rate_per_s: float = 1.0  # refill rate of every chat's token bucket
    per_chat_burst: int = 3  # the bucket's size: calls that may go at once
    group_per_minute: int = 20  # calls to one group in any rolling 60 s
    global_per_s: int = 30  # calls to all chats in any rolling second

    def __post_init__(self) -> None:
        if self.per_chat_rate_per_s <= 0 or self.per_chat_burst < 1:
            raise ValueError("a chat's bucket needs a positive rate and room for one call")
        if self.group_per_minute < 1 or self.global_per_s < 1:
            raise ValueError("the group and overall limits must allow at least one call")


@dataclass
class _Bucket:
    tokens: float
    at: float


class FloodLimiter:
    """The budget left per chat, per group and overall; ``wait_s`` then ``take`` per call."""

    def __init__(self) -> None:
        self._buckets: dict[int | str, _Bucket] = {}
        self._group_calls: dict[int | str, deque[float]] = {}
        self._all_calls: deque[float] = deque()

    def wait_s(
        self, limits: FloodLimits, chat: int | str | None, is_group: bool, now: float
    ) -> float:
        """Seconds until a call to ``chat`` at ``now`` is within every limit (0: allowed now)."""
        waits = [_window_wait(self._all_calls, limits.global_per_s, 1.0, now)]
        if chat is not None:
            tokens = self._tokens(limits, chat, now)
            waits.append(max(0.0, (1.0 - tokens) / limits.per_chat_rate_per_s))
            if is_group:
                calls = self._group_calls.setdefault(chat, deque())
                waits.append(_window_wait(calls, limits.group_per_minute, 60.0, now))
        wait = max(waits)
        return 0.0 if wait <= _EPSILON_S else wait

    def take(self, limits: FloodLimits, chat: int | str | None, is_group: bool, now: float) -> None:
        """Spend one call's budget (after ``wait_s`` said 0 and the call was delivered)."""
        self._all_calls.append(now)
        if chat is None:
            return
        self._buckets[chat] = _Bucket(max(0.0, self._tokens(limits, chat, now) - 1.0), now)
        if is_group:
            self._group_calls.setdefault(chat, deque()).append(now)

    def _tokens(self, limits: FloodLimits, chat: int | str, now: float) -> float:
        bucket = self._buckets.get(chat)
        if bucket is None:
            return float(limits.per_chat_burst)
        refilled = bucket.tokens + max(0.0, now - bucket.at) * limits.per_chat_rate_per_s
        return min(float(limits.per_chat_burst), refilled)


def _window_wait(calls: deque[float], limit: int, window_s: float, now: float) -> float:
    """Seconds until fewer than ``limit`` of ``calls`` lie in the rolling window ending then."""
    while calls and calls[0] <= now - window_s:
        calls.popleft()
    if len(calls) < limit:
        return 0.0
    return calls[len(calls) - limit] + window_s - now


def retry_after_s(wait_s: float) -> int:
    """Telegram's retry_after for a wait: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(wait_s - _EPSILON_S))


@dataclass
class _Update:
    update_id: int
    body: dict[str, Any]
    available_at: float


@dataclass
class _Failure:
    status: int
    times: int
    retry_after: int | None
    description: str


@dataclass
class _SlowResponse:
    seconds: float
    times: int


@dataclass
class FakeBotApi:
    """The fake server's state; ``start()`` serves it on 127.0.0.1 in a thread.

    ``flood_limits``: True (Telegram's limits, the default), a ``FloodLimits``, or False (none);
    it is read on every call, so a test may change it while the server runs. ``clock`` is what
    the flood limiter and ``storm`` measure time with.
    """

    token: str = TOKEN
    calls: list[ApiCall] = field(default_factory=list)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    conflict_forever: bool = False
    flood_limits: bool | FloodLimits = True
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._updates: list[_Update] = []
        self._delivered: list[_Update] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._query_ids = itertools.count(1)
        self._failures: dict[str, list[_Failure]] = {}
        self._open_callback_queries: set[str] = set()
        self._open_inline_queries: set[str] = set()
        self._chats: dict[int, dict[str, Any]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._limiter = FloodLimiter()
        self._storms: dict[int | str, float] = {}  # chat -> clock() when its storm ends
        self._slow: dict[str, list[_SlowResponse]] = {}
        self._stopped = threading.Event()
        self._stopping = False
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeBotApi:
        """Serve on 127.0.0.1 (``port`` 0: any free port)."""
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        self._stopped.set()  # cuts held-back slow responses short
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What to pass to ``base_url`` (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- what tests do --------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        status: int = 429,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``status``."""
        descriptions = {
            429: f"Too Many Requests: retry after {retry_after}",
            409: "Conflict: terminated by other getUpdates request; make sure that only one bot "
            "instance is running",
            500: "Internal Server Error",
        }
        if status == 429 and retry_after is None:
            retry_after = 1
        failure = _Failure(status, times, retry_after, descriptions.get(status, "Error"))
        with self._lock:
            self._failures.setdefault(method, []).append(failure)

    @property
    def limits(self) -> FloodLimits | None:
        """The flood limits in force (None: off)."""
        if isinstance(self.flood_limits, FloodLimits):
            return self.flood_limits
        return FloodLimits() if self.flood_limits else None

    def storm(self, chat_id: int | str, seconds: float) -> None:
        """Refuse every counted call to ``chat_id`` with 429 for the next ``seconds`` (by
        ``clock``), retry_after counting down to the storm's end; then the usual limits apply.
        Refused calls use no budget. Works with ``flood_limits=False`` too."""
        with self._lock:
            self._storms[chat_id] = self.clock() + seconds

    def slow_response(self, method: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` successful calls of ``method`` are executed and recorded at once
        (the message is delivered) but answered only after ``seconds``: the bot's read times
        out although Telegram accepted the message. Calls refused (429, 400...) do not count."""
        with self._lock:
            self._slow.setdefault(method, []).append(_SlowResponse(seconds, times))

    def enqueue(self, body: dict[str, Any]) -> int:
        """Make an update available to ``getUpdates``; returns its update_id."""
        with self._lock:
            update_id = next(self._update_ids)
            for kind in ("message", "edited_message"):
                if kind in body:
                    chat = body[kind]["chat"]
                    self._chats[chat["id"]] = chat
                    self._messages[(chat["id"], body[kind]["message_id"])] = body[kind]
            if "callback_query" in body:
                self._open_callback_queries.add(body["callback_query"]["id"])
            if "inline_query" in body:
                self._open_inline_queries.add(body["inline_query"]["id"])
            self._updates.append(_Update(update_id, body, time.perf_counter()))
            self._lock.notify_all()
        return update_id

    def send_text(
        self,
        user: dict[str, Any],
        text: str,
        *,
        chat: dict[str, Any] | None = None,
        reply_to: dict[str, Any] | None = None,
        edit_of: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Enqueue a text message (or an edit of ``edit_of``) and return the message object."""
        message = message_object(user, text, chat=chat, reply_to=reply_to)
        if edit_of is not None:
            message["message_id"] = edit_of["message_id"]
            message["edit_date"] = message["date"]
            self.enqueue({"edited_message": message})
        else:
            message["message_id"] = next(self._message_ids)
            self.enqueue({"message": message})
        return message

    def send_sticker(self, user: dict[str, Any]) -> dict[str, Any]:
        message = message_object(user, None)
        message["message_id"] = next(self._message_ids)
        message["sticker"] = {
            "file_id": "CAACAgIAAxkBAAEFake",
            "file_unique_id": "AgADFake",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        self.enqueue({"message": message})
        return message

    def press_button(self, user: dict[str, Any], message: dict[str, Any], data: str) -> str:
        """Enqueue a callback query for a button on one of the bot's messages; returns its id."""
        query_id = f"cq{next(self._query_ids)}"
        self.enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": message,
                    "chat_instance": "42",
                    "data": data,
                }
            }
        )
        return query_id

    def inline_query(self, user: dict[str, Any], query: str) -> str:
        query_id = f"iq{next(self._query_ids)}"
        self.enqueue(
            {
                "inline_query": {
                    "id": query_id,
                    "from": user,
                    "query": query,
                    "offset": "",
                    "chat_type": "sender",
                }
            }
        )
        return query_id

    # --- what tests check -----------------------------------------------------------------------

    def calls_of(self, method: str, *, ok: bool | None = True) -> list[ApiCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def sent(self, chat_id: int | None = None) -> list[ApiCall]:
        """Successful sendMessage calls, oldest first, optionally to one chat."""
        return [c for c in self.calls_of("sendMessage") if chat_id in (None, c.params["chat_id"])]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """The texts of the messages delivered (sendMessage answered 200), oldest first, as the
        bot sent them (HTML source); optionally only those to one chat."""
        return [c.params["text"] for c in self.sent(chat_id)]

    async def wait_for_texts(
        self, chat_id: int, count: int = 1, timeout_s: float = 10.0
    ) -> list[str]:
        """``sent_texts(chat_id)`` once it holds at least ``count`` texts."""
        return [c.params["text"] for c in await self.wait_for_replies(chat_id, count, timeout_s)]

    def refusals(self, method: str | None = None, chat_id: int | None = None) -> list[ApiCall]:
        """Calls answered 429 (flood limit, storm or ``fail_next``), optionally of one method
        and/or to one chat, oldest first; each has its ``retry_after``."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.refused
                and method in (None, c.method)
                and chat_id in (None, c.params.get("chat_id"))
            ]

    def refused(self, method: str | None = None, chat_id: int | None = None) -> int:
        """How many calls were answered 429 (see ``refusals``)."""
        return len(self.refusals(method, chat_id))

    def rejected(self) -> list[ApiCall]:
        """Calls the fake refused as a bad request (what Telegram would have refused too)."""
        with self._lock:
            return [c for c in self.calls if c.status == 400]

    def sent_message(self, call: ApiCall) -> dict[str, Any]:
        """The Message object the fake returned for a sendMessage call."""
        assert isinstance(call.result, dict)
        return call.result

    def available_at(self, update_id: int) -> float:
        with self._lock:
            return next(u.available_at for u in self._all_updates if u.update_id == update_id)

    async def wait_for(
        self, condition: Callable[[], Any], timeout_s: float = 10.0, what: str = "condition"
    ) -> Any:
        """Poll ``condition`` without blocking the event loop until it returns something truthy."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                methods = [f"{c.method}:{c.status}" for c in self.calls][-20:]
                raise AssertionError(f"timed out waiting for {what}; last calls: {methods}")
            await asyncio.sleep(0.01)

    def wait_until(
        self, condition: Callable[[], Any], timeout_s: float = 10.0, what: str = "condition"
    ) -> Any:
        """Like ``wait_for``, for tests without an event loop (the bot in another process)."""
        deadline = time.monotonic() + timeout_s
        while not (value := condition()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02)
        return value

    async def wait_for_replies(
        self, chat_id: int, count: int = 1, timeout_s: float = 10.0
    ) -> list[ApiCall]:
        def enough() -> list[ApiCall] | None:
            sent = self.sent(chat_id)
            return sent if len(sent) >= count else None

        result: list[ApiCall] = await self.wait_for(enough, timeout_s, f"{count} replies")
        return result

    async def wait_until_polling(self, timeout_s: float = 10.0) -> None:
        await self.wait_for(lambda: self.calls_of("getUpdates", ok=None), timeout_s, "getUpdates")

    # --- the API --------------------------------------------------------------------------------

    @property
    def _all_updates(self) -> Iterator[_Update]:
        return iter(self._delivered + self._updates)

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one API call: (HTTP status, JSON body)."""
        _, status, body = self.answer(method, params)
        return status, body

    def answer(self, method: str, params: dict[str, Any]) -> tuple[ApiCall, int, dict[str, Any]]:
        """Answer one API call: the recorded call, HTTP status and JSON body. The HTTP server
        holds the answer back for ``call.response_delay_s`` (``slow_response``)."""
        call = ApiCall(method, params, time.perf_counter())
        with self._lock:
            self.calls.append(call)  # recorded on arrival, so a pending long poll is visible
        failure = self._take_failure(method)
        handler = getattr(self, f"_api_{method}", None)
        if failure is not None:
            body = _error(call, failure.status, failure.description, failure.retry_after)
        elif handler is None:
            body = _error(call, 404, "Not Found: method not found")
        elif method in COUNTED_METHODS:
            with self._lock:  # the check, the delivery and the spending are one step
                now = self.clock()
                retry_after = self._flood_retry_after(params, now)
                if retry_after is not None:
                    body = _error(
                        call, 429, f"Too Many Requests: retry after {retry_after}", retry_after
                    )
                else:
                    body = self._call(call, handler, params)
                    if call.ok:
                        self._spend(params, now)
        else:
            body = self._call(call, handler, params)
        if call.ok:
            call.response_delay_s = self._take_slow(method)
        return call, call.status, body

    def _call(
        self, call: ApiCall, handler: Callable[[dict[str, Any]], Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            call.result = handler(params)
        except BadRequestError as exc:
            return _error(call, 400, f"Bad Request: {exc}")
        call.status = 200
        return {"ok": True, "result": call.result}

    def _flood_key(self, params: dict[str, Any]) -> tuple[int | str | None, bool]:
        """The chat a counted call is charged to, and whether it is a group's."""
        chat = params.get("chat_id")
        if not isinstance(chat, int | str) or isinstance(chat, bool):
            return None, False
        if isinstance(chat, str):
            return chat, True  # @channelusername
        recorded = self._chats.get(chat, {}).get("type")
        return chat, chat < 0 or recorded in GROUP_CHAT_TYPES

    def _flood_retry_after(self, params: dict[str, Any], now: float) -> int | None:
        """None if a counted call may go now, else its retry_after (a storm, then the limits)."""
        chat, is_group = self._flood_key(params)
        if chat is not None and chat in self._storms:
            storm_ends = self._storms[chat]
            if now < storm_ends:
                return retry_after_s(storm_ends - now)
            del self._storms[chat]
        limits = self.limits
        if limits is None:
            return None
        wait_s = self._limiter.wait_s(limits, chat, is_group, now)
        return retry_after_s(wait_s) if wait_s > 0 else None

    def _spend(self, params: dict[str, Any], now: float) -> None:
        limits = self.limits
        if limits is not None:
            chat, is_group = self._flood_key(params)
            self._limiter.take(limits, chat, is_group, now)

    def _take_slow(self, method: str) -> float:
        with self._lock:
            queue = self._slow.get(method) or []
            if not queue:
                return 0.0
            slow = queue[0]
            slow.times -= 1
            if slow.times <= 0:
                queue.pop(0)
            return slow.seconds

    def _take_failure(self, method: str) -> _Failure | None:
        with self._lock:
            if method == "getUpdates" and self.conflict_forever:
                return _Failure(409, 1, None, "Conflict: terminated by other getUpdates request")
            queue = self._failures.get(method) or []
            if not queue:
                return None
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
            return failure

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Newsbot Test",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            with self._lock:
                self._updates.clear()
        return True

    def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout_s = min(float(params.get("timeout") or 0), MAX_LONG_POLL_S)
        deadline = time.monotonic() + timeout_s
        with self._lock:
            if offset:
                confirmed = [u for u in self._updates if u.update_id < offset]
                self._delivered.extend(confirmed)
                self._updates = [u for u in self._updates if u.update_id >= offset]
            while not self._updates and not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            return [{"update_id": u.update_id, **u.body} for u in self._updates[:limit]]

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        visible = check_text(params.get("text"), params.get("parse_mode"))
        check_inline_keyboard(params.get("reply_markup"))
        reply = params.get("reply_parameters")
        if reply is not None and not reply.get("allow_sending_without_reply"):
            with self._lock:
                if (chat_id, reply["message_id"]) not in self._messages:
                    raise BadRequestError("message to be replied not found")
        with self._lock:
            message_id = next(self._message_ids)
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chats.get(chat_id, {"id": chat_id, "type": "private"}),
                "from": {
                    "id": BOT_ID,
                    "is_bot": True,
                    "first_name": "Newsbot Test",
                    "username": BOT_USERNAME,
                },
                "text": visible,
            }
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            self._messages[(chat_id, message_id)] = message
        return message

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        visible = check_text(params.get("text"), params.get("parse_mode"))
        check_inline_keyboard(params.get("reply_markup"))
        with self._lock:
            message = self._messages.get((chat_id, int(params.get("message_id") or 0)))
            if message is None:
                raise BadRequestError("message to edit not found")
            message.update(text=visible, edit_date=int(time.time()))
            return message

    def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        _chat_id(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise BadRequestError("wrong parameter action in request")
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        with self._lock:
            if query_id not in self._open_callback_queries:
                raise BadRequestError(
                    "query is too old and response timeout expired or query ID is invalid"
                )
            self._open_callback_queries.discard(query_id)
        text = params.get("text")
        if text is not None and len(text) > 200:
            raise BadRequestError("MESSAGE_TOO_LONG")
        return True

    def _api_answerInlineQuery(self, params: dict[str, Any]) -> bool:
        query_id = params.get("inline_query_id")
        with self._lock:
            if query_id not in self._open_inline_queries:
                raise BadRequestError(
                    "query is too old and response timeout expired or query ID is invalid"
                )
            self._open_inline_queries.discard(query_id)
        results = params.get("results")
        if not isinstance(results, list) or len(results) > 50:
            raise BadRequestError("RESULTS_TOO_MUCH")
        ids = [r.get("id") for r in results]
        if len(set(ids)) != len(ids):
            raise BadRequestError("RESULT_ID_DUPLICATE")
        for result in results:
            _check_inline_result(result)
        return True

    def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise BadRequestError("commands must be a list of at most 100")
        for command in commands:
            if not _COMMAND.match(str(command.get("command", ""))):
                raise BadRequestError("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise BadRequestError("BOT_COMMAND_DESCRIPTION_INVALID")
        with self._lock:
            self.commands[params.get("language_code") or ""] = commands
        return True

    def _api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            return self.commands.get(params.get("language_code") or "", [])


def _error(
    call: ApiCall, status: int, description: str, retry_after: int | None = None
) -> dict[str, Any]:
    """Record a failed call; the JSON body Telegram answers it with."""
    call.status, call.error, call.retry_after = status, description, retry_after
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return body


def _chat_id(params: dict[str, Any]) -> int:
    chat_id = params.get("chat_id")
    if not isinstance(chat_id, int):
        raise BadRequestError("chat not found")
    return chat_id


def _check_inline_result(result: Any) -> None:
    if not isinstance(result, dict) or result.get("type") != "article":
        raise BadRequestError("this fake only knows article results")
    result_id = result.get("id")
    if not isinstance(result_id, str) or not 1 <= len(result_id.encode("utf-8")) <= 64:
        raise BadRequestError("RESULT_ID_INVALID")
    if not result.get("title"):
        raise BadRequestError("RESULT_TITLE_EMPTY")
    content = result.get("input_message_content")
    if not isinstance(content, dict):
        raise BadRequestError("input_message_content is missing")
    check_text(content.get("message_text"), content.get("parse_mode"))
    check_inline_keyboard(result.get("reply_markup"))


class _Handler(BaseHTTPRequestHandler):
    api: FakeBotApi
    protocol_version = "HTTP/1.1"
    # Buffered: headers and body leave in one write. Written separately, on a kept-alive
    # connection the body waited for the client's delayed ACK, ~40 ms a call (Telegram has no
    # such delay).
    wbufsize = -1

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client hung up (a cancelled long poll): fine

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        self._serve()

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        """Quiet: the fake records calls instead of printing them."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != f"bot{self.api.token}":
            self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        params = _parse_body(raw, self.headers.get("Content-Type") or "")
        call, status, body = self.api.answer(parts[1], params)
        if call.response_delay_s > 0:
            self.api._stopped.wait(call.response_delay_s)  # delivered already; answer late
        self._reply(status, body)

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up on a long poll: nothing to answer


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        decoded: dict[str, Any] = json.loads(raw)
        return decoded
    params: dict[str, Any] = {}
    for name, value in parse_qsl(raw.decode("utf-8"), keep_blank_values=True):
        params[name] = value if name in _STRING_PARAMS else _json_or_str(value)
    return params


def _json_or_str(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


# --- update builders ----------------------------------------------------------------------------

_USER_IDS = itertools.count(1001)


def user_object(
    user_id: int | None = None, *, language_code: str | None = "en", first_name: str = "Reader"
) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": user_id if user_id is not None else next(_USER_IDS),
        "is_bot": False,
        "first_name": first_name,
    }
    if language_code:
        user["language_code"] = language_code
    return user


def private_chat(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "type": "private", "first_name": user["first_name"]}


def group_chat(chat_id: int = -100200300) -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": "News readers"}


def message_object(
    user: dict[str, Any],
    text: str | None,
    *,
    chat: dict[str, Any] | None = None,
    reply_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Message as Telegram sends it, with bot_command and mention entities (UTF-16 offsets)."""
    message: dict[str, Any] = {
        "message_id": 0,
        "date": int(time.time()),
        "chat": chat or private_chat(user),
        "from": user,
    }
    if text is not None:
        message["text"] = text
        entities = _entities(text)
        if entities:
            message["entities"] = entities
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    return message


def _entities(text: str) -> list[dict[str, Any]]:
    entities = []
    for match in re.finditer(
        r"(?<!\S)/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?|(?<!\S)@[A-Za-z0-9_]{5,}", text
    ):
        kind = "bot_command" if match.group().startswith("/") else "mention"
        if kind == "bot_command" and match.start() != 0:
            continue
        entities.append(
            {
                "type": kind,
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group()),
            }
        )
    return entities
