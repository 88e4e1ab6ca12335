"""Telegram request retries: PTB's flood limits and 429 handling, plus backoff on network errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)

RETRY_AFTER_RETRIES = 5  # 429s honoured (waiting retry_after) before a request gives up
NETWORK_RETRIES = 3  # network errors and 5xx retried, with exponential backoff
NETWORK_BACKOFF_S = 0.5


class RetryingRateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter (flood limits, 429 ``retry_after``) that also retries network errors
    and 5xx replies with exponential backoff, so a hiccup at Telegram loses no reply.

    4xx errors other than 429 are not retried: sending the same bad request again cannot help.
    """

    def __init__(
        self,
        *,
        max_retries: int = RETRY_AFTER_RETRIES,
        network_retries: int = NETWORK_RETRIES,
        backoff_s: float = NETWORK_BACKOFF_S,
    ) -> None:
        super().__init__(max_retries=max_retries)
        self._network_retries = network_retries
        self._backoff_s = backoff_s

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        attempt = 0
        while True:
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:
                raise
            except NetworkError as exc:
                if attempt >= self._network_retries:
                    raise
                delay_s = self._backoff_s * 2**attempt
                attempt += 1
                logger.warning(
                    "Telegram %s failed (%s); retry %d of %d in %.1f s",
                    endpoint,
                    exc,
                    attempt,
                    self._network_retries,
                    delay_s,
                )
                await asyncio.sleep(delay_s)
