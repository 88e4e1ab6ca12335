"""Telegram's flood limits, kept: one FIFO send queue per chat, paced, under one overall budget.

python-telegram-bot hands every Bot API request except ``getUpdates`` to ``ChatRateLimiter``
(``Application.builder().rate_limiter(...)``). The requests that put something into a chat
(``COUNTED_METHODS``) take turns in that chat's queue, oldest first:

- a chat gets at most ``chat_burst`` messages at once, then ``chat_per_s`` a second; a group in
  addition at most ``group_per_minute`` in any rolling minute; all chats together at most
  ``overall_per_s`` in any rolling second (``SendLimits``: Telegram's documented limits);
- a 429 pauses that chat alone for its ``retry_after``, and the same request is sent again when
  the pause is over, until it is delivered or ``deadline_s`` after it was queued
  (``SendAbandonedError``); other chats keep their pace;
- chat actions (the typing indicator) go only when the chat is idle with budget to spare, so they
  never delay an answer or use up its budget;
- a request that never left (connection refused, connect or pool timeout, a write that failed)
  is sent again with backoff until the deadline, and after a 5xx three more times. A request whose
  answer was lost after it was sent (read timeout, connection dropped) is not sent again unless
  repeating it is harmless (``DeliveryUncertainError``): Telegram offers no idempotent send and no
  way to see what the bot sent, and a duplicate is worse than a rare lost reply (README,
  "Delivery").

Other requests (answers to button presses and inline queries, set-up calls) go at once. The
errors live here, not in ``index.errors``: they are about Telegram, which the engine never sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

Result = bool | dict[str, Any] | list[dict[str, Any]]
Callback = Callable[..., Coroutine[Any, Any, Result]]

CHAT_ACTION = "sendChatAction"
# What Telegram's flood control counts per chat: whatever makes or changes a message in a chat,
# and chat actions (counted to be safe: an indicator must not cost an answer its turn).
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
        CHAT_ACTION,
    }
)
# Methods that only read or set a state: sending one twice does no harm.
_REPEATABLE_PREFIXES = ("get", "set", "delete")
# The request did not (completely) leave this machine: Telegram cannot have acted on it.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteTimeout,
    httpx.WriteError,
)
SERVER_ERROR_RETRIES = 3  # a 5xx answer: Telegram failed the request; try again a few times
BACKOFF_S = 0.5  # the first wait after a network error or a 5xx; doubled each time
MAX_BACKOFF_S = 30.0
RETRY_AFTER_MARGIN_S = 0.1  # retry_after is whole seconds; arrive just after, not just before
GROUP_WINDOW_S = 60.0  # Telegram's group limit counts messages per minute
OVERALL_WINDOW_S = 1.0
CHAT_ACTION_SPARE = 5  # a chat action leaves a fifth of the overall budget free for answers
IDLE_CHATS_KEPT = 1024  # past this many chats, the state of idle ones is dropped


class SendAbandonedError(TelegramError):
    """A request that was never sent: its chat stayed rate-limited past the deadline, or the
    bot stopped while it waited."""


class DeliveryUncertainError(TimedOut):
    """A request that was sent but whose answer was lost (read timeout, dropped connection); it
    was not sent again, since Telegram has most likely carried it out."""


@dataclass(frozen=True)
class SendLimits:
    """How fast the bot sends and how long a request may wait (Telegram's documented limits:
    about 1 message a second per chat with short bursts, 20 a minute per group, 30 a second in
    all; https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this)."""

    chat_per_s: float = 1.0
    chat_burst: int = 3
    group_per_minute: int = 20
    overall_per_s: int = 25
    deadline_s: float = 600.0


@dataclass
class _Request:
    callback: Callback
    args: Any
    kwargs: dict[str, Any]
    endpoint: str
    chat_id: int | str | None
    deadline: float

    async def call(self) -> Result:
        return await self.callback(*self.args, **self.kwargs)

    @property
    def is_repeatable(self) -> bool:
        return self.endpoint.startswith(_REPEATABLE_PREFIXES)

    def describe(self) -> str:
        where = f" to chat {self.chat_id}" if self.chat_id is not None else ""
        return f"{self.endpoint}{where}"


@dataclass
class _Chat:
    """One chat's queue (requests take turns in arrival order: ``asyncio.Lock`` wakes its
    waiters first come, first served) and the budget Telegram leaves it.

    The budget is counted from the moment each answer came back, the latest moment Telegram can
    have counted the request, so the bot's count never runs ahead of Telegram's.
    """

    limits: SendLimits
    is_group: bool
    tokens: float
    tokens_at: float
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    queued: int = 0  # requests waiting for their turn or being sent
    paused_until: float = 0.0
    recent: deque[float] = field(default_factory=deque)  # a group's answers in the window

    def room(self, now: float) -> float:
        """How many requests could go now as far as this chat's budget goes."""
        room = self._bucket(now)
        if self.is_group:
            self._forget_old(now)
            room = min(room, float(self.limits.group_per_minute - len(self.recent)))
        return room

    def wait_s(self, now: float) -> float:
        """Seconds until the next request may go (0: now)."""
        waits = [self.paused_until - now, (1.0 - self._bucket(now)) / self.limits.chat_per_s]
        if self.is_group:
            self._forget_old(now)
            if len(self.recent) >= self.limits.group_per_minute:
                oldest = self.recent[len(self.recent) - self.limits.group_per_minute]
                waits.append(oldest + GROUP_WINDOW_S - now)
        return max(0.0, *waits)

    def spend(self, sent_at: float, answered_at: float) -> None:
        self.tokens = max(0.0, self._bucket(sent_at) - 1.0)
        self.tokens_at = answered_at
        if self.is_group:
            self.recent.append(answered_at)

    def is_idle(self, now: float) -> bool:
        """Nothing queued, no pause, and the whole budget back: the state can be forgotten."""
        return not self.queued and now >= self.paused_until and self.room(now) >= self.full_room

    @property
    def full_room(self) -> float:
        burst = float(self.limits.chat_burst)
        return min(burst, float(self.limits.group_per_minute)) if self.is_group else burst

    def _bucket(self, now: float) -> float:
        """The chat's token bucket: ``chat_burst`` at most, refilled at ``chat_per_s``."""
        refilled = self.tokens + max(0.0, now - self.tokens_at) * self.limits.chat_per_s
        return min(float(self.limits.chat_burst), refilled)

    def _forget_old(self, now: float) -> None:
        while self.recent and self.recent[0] <= now - GROUP_WINDOW_S:
            self.recent.popleft()


class _Overall:
    """All chats together: at most ``per_s`` counted requests in any rolling second. A request
    holds its slot from when it is sent until a second after its answer came back."""

    def __init__(self, per_s: int) -> None:
        self._per_s = per_s
        self._sending = 0
        self._answered: deque[float] = deque()
        self._changed = asyncio.Event()
        self._queue = asyncio.Lock()  # chats waiting for a slot are served in order

    def has_room(self, now: float, spare: int = 0) -> bool:
        """Whether a request may go now, leaving ``spare`` slots for others."""
        while self._answered and self._answered[0] <= now - OVERALL_WINDOW_S:
            self._answered.popleft()
        return self._sending + len(self._answered) + spare < self._per_s

    async def take(self) -> None:
        async with self._queue:
            while not self.has_room(time.monotonic()):
                self._changed.clear()
                expires = self._answered[0] + OVERALL_WINDOW_S if self._answered else None
                timeout_s = expires - time.monotonic() if expires is not None else None
                await _wait(self._changed, timeout_s)
            self._sending += 1

    def give_back(self, answered_at: float) -> None:
        self._sending -= 1
        self._answered.append(answered_at)
        self._changed.set()


async def _wait(event: asyncio.Event, timeout_s: float | None) -> None:
    """Wait until ``event`` is set or ``timeout_s`` has passed."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout_s)


class ChatRateLimiter(BaseRateLimiter[None]):
    """The bot's rate limiter: per-chat FIFO queues, paced, under one overall budget; a 429
    pauses one chat and the request is retried until sent or ``limits.deadline_s`` has passed.

    Args:
        limits: the pace and the deadline (``SendLimits()``: Telegram's limits, 10 minutes).
    """

    def __init__(self, limits: SendLimits | None = None) -> None:
        self.limits = limits or SendLimits()
        self._chats: dict[int | str, _Chat] = {}
        self._overall = _Overall(self.limits.overall_per_s)
        self._action_spare = max(1, self.limits.overall_per_s // CHAT_ACTION_SPARE)
        self._stop_at: float | None = None
        self._stopping = asyncio.Event()

    async def initialize(self) -> None:
        """Nothing to set up: the queues are made as chats appear."""

    async def shutdown(self) -> None:
        """Forget the queues (requests still waiting were given up by ``stop_waiting``)."""
        self._chats.clear()

    def stop_waiting(self, grace_s: float) -> None:
        """The bot is stopping: requests still waiting ``grace_s`` from now are given up."""
        self._stop_at = time.monotonic() + grace_s
        self._stopping.set()

    def is_paused(self, chat_id: int | str) -> bool:
        """Whether Telegram has asked the bot to wait before sending more to a chat (a 429)."""
        chat = self._chats.get(chat_id)
        return chat is not None and time.monotonic() < chat.paused_until

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> Result:
        """Send one request in its chat's turn (see the module docstring); what PTB calls."""
        chat_id = data.get("chat_id")
        if not isinstance(chat_id, int | str) or isinstance(chat_id, bool):
            chat_id = None
        deadline = time.monotonic() + self.limits.deadline_s
        request = _Request(callback, args, kwargs, endpoint, chat_id, deadline)
        if endpoint not in COUNTED_METHODS or chat_id is None:
            return await self._deliver(request, None)
        chat = self._chat(chat_id)
        if endpoint == CHAT_ACTION:
            return await self._send_chat_action(request, chat)
        chat.queued += 1
        try:
            async with chat.turn:
                return await self._deliver(request, chat)
        finally:
            chat.queued -= 1

    def _chat(self, chat_id: int | str) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) >= IDLE_CHATS_KEPT:
                now = time.monotonic()
                self._chats = {k: c for k, c in self._chats.items() if not c.is_idle(now)}
            is_group = isinstance(chat_id, str) or chat_id < 0
            limits = self.limits
            chat = _Chat(limits, is_group, float(limits.chat_burst), time.monotonic())
            self._chats[chat_id] = chat
        return chat

    async def _send_chat_action(self, request: _Request, chat: _Chat) -> Result:
        """A typing indicator goes only if the chat is idle with room for it and an answer, and
        the overall budget is not getting tight."""
        now = time.monotonic()
        busy = chat.queued or chat.wait_s(now) > 0 or chat.room(now) < 2
        if busy or not self._overall.has_room(now, spare=self._action_spare):
            return True  # skipped, as if shown: an indicator is a nicety, the answer is not
        chat.queued += 1
        try:
            async with chat.turn:
                return await self._send(request, chat)
        except RetryAfter as exc:
            self._pause(request, chat, exc)
            return True
        finally:
            chat.queued -= 1

    async def _deliver(self, request: _Request, chat: _Chat | None) -> Result:
        """Send until Telegram takes the request; wait out 429s and retry what never arrived."""
        attempt = 0
        while True:
            if chat is not None:
                await self._wait_for_budget(request, chat)
            try:
                return await (self._send(request, chat) if chat else request.call())
            except RetryAfter as exc:
                if chat is not None:
                    self._pause(request, chat, exc)
                else:
                    await self._sleep_within(request, _seconds(exc) + RETRY_AFTER_MARGIN_S)
            except BadRequest:  # a NetworkError too, but sending it again cannot help
                raise
            except NetworkError as exc:
                await self._back_off(request, exc, attempt)
                attempt += 1

    async def _send(self, request: _Request, chat: _Chat) -> Result:
        """One attempt, within the overall budget; the chat's budget is spent if Telegram may
        have delivered it."""
        await self._overall.take()
        sent_at = time.monotonic()
        try:
            result = await request.call()
        except NetworkError as exc:
            if _failure_kind(exc) == "unknown":
                chat.spend(sent_at, time.monotonic())
            raise
        finally:
            self._overall.give_back(time.monotonic())
        chat.spend(sent_at, time.monotonic())
        return result

    def _pause(self, request: _Request, chat: _Chat, exc: RetryAfter) -> None:
        seconds = _seconds(exc)
        until = time.monotonic() + seconds + RETRY_AFTER_MARGIN_S
        if until > chat.paused_until + 1:
            logger.info(
                "Telegram asked to wait %.0f s before sending more to chat %s; its messages wait "
                "(other chats are not held up)",
                seconds,
                request.chat_id,
            )
        chat.paused_until = max(chat.paused_until, until)

    async def _wait_for_budget(self, request: _Request, chat: _Chat) -> None:
        while (wait_s := chat.wait_s(time.monotonic())) > 0:
            await self._sleep_within(request, wait_s)

    async def _back_off(self, request: _Request, exc: NetworkError, attempt: int) -> None:
        """Wait before another attempt after a network error or a 5xx, or raise if there must
        not be another one."""
        kind = _failure_kind(exc)
        if kind == "unknown" and not request.is_repeatable:
            raise DeliveryUncertainError(
                f"No answer from Telegram to {request.describe()} after it was sent ({exc}); "
                "not sent again, since it has most likely arrived"
            ) from exc
        if kind == "answered" and attempt >= SERVER_ERROR_RETRIES:
            raise exc
        delay_s = min(MAX_BACKOFF_S, BACKOFF_S * 2**attempt)
        logger.warning(
            "Telegram %s failed (%s); trying again in %.1f s", request.describe(), exc, delay_s
        )
        await self._sleep_within(request, delay_s)

    async def _sleep_within(self, request: _Request, seconds: float) -> None:
        """Sleep ``seconds`` unless the request's deadline (or the bot's stop) comes first;
        then give the request up."""
        deadline = request.deadline
        if self._stop_at is not None:
            deadline = min(deadline, self._stop_at)
        if time.monotonic() + seconds > deadline:
            raise SendAbandonedError(self._abandon_reason(request))
        if self._stopping.is_set():
            await asyncio.sleep(seconds)
        else:  # wakes at once when the bot begins to stop, to look at the shorter deadline
            await _wait(self._stopping, seconds)

    def _abandon_reason(self, request: _Request) -> str:
        if self._stop_at is not None and self._stop_at < request.deadline:
            return f"Did not send {request.describe()}: the bot is stopping"
        return (
            f"Gave up sending {request.describe()}: Telegram's limits would keep it waiting "
            f"longer than SEND_DEADLINE_S ({self.limits.deadline_s:.0f} s)"
        )


def _seconds(exc: RetryAfter) -> float:
    value = exc.retry_after  # a timedelta with PTB_TIMEDELTA=1 (run_bot sets it), else an int
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _failure_kind(exc: NetworkError) -> str:
    """``"not_sent"``: the request did not leave; ``"answered"``: Telegram answered with an error
    (a 5xx); ``"unknown"``: it was sent and the answer is lost (it may have been carried out)."""
    cause = exc.__cause__
    if cause is None or isinstance(cause, TelegramError):
        return "answered"  # PTB raises HTTP error statuses without an httpx cause
    if isinstance(cause, _NOT_SENT):
        return "not_sent"
    return "unknown"
