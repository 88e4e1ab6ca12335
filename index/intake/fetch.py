"""Safe HTTP fetching: http(s) only, timeouts, a size cap, checked redirects, no private addresses.

Every TCP connection goes through ``_CheckedBackend``, which resolves the host itself, refuses it
if any resolved address is private, loopback, link-local, multicast or reserved, and connects to
an address it has checked. Checking at connect time (not only before the request) covers every
redirect hop and leaves no gap for a DNS answer that changes between the check and the connection.
Every HTTP request newsbot's core makes goes through ``fetch`` here.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from index.config import Settings
from index.errors import (
    BadStatusError,
    FetchError,
    FetchTimeoutError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    UnsafeURLError,
)

logger = logging.getLogger(__name__)

USER_AGENT = "newsbot/0.1 (news article fetcher)"
ALLOWED_SCHEMES = ("http", "https")
PRIVATE_HINT = "set ALLOW_PRIVATE_URLS=1 to allow it (for local testing only)"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one fetch; ``from_settings`` takes them from FETCH_* and ALLOW_PRIVATE_URLS."""

    allow_private: bool = False
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    total_timeout_s: float = 60.0  # a server dripping one byte per read timeout ends here
    max_bytes: int = 5_000_000
    max_redirects: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(
            allow_private=settings.allow_private_urls,
            connect_timeout_s=settings.fetch_timeout_s,
            read_timeout_s=settings.fetch_timeout_s,
            total_timeout_s=max(60.0, 3 * settings.fetch_timeout_s),
            max_bytes=settings.fetch_max_bytes,
        )


@dataclass(frozen=True)
class FetchedPage:
    """A fetched body and what is known about it."""

    url: str  # after redirects
    requested_url: str
    status_code: int
    content_type: str  # media type only, lower-case, e.g. "text/html"; "" if absent
    charset: str | None
    body: bytes

    @property
    def is_html(self) -> bool:
        return self.content_type in ("text/html", "application/xhtml+xml", "")

    def text(self) -> str:
        """The body decoded with the declared charset (UTF-8 if none), bad bytes replaced."""
        try:
            return self.body.decode(self.charset or "utf-8", errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def is_public_address(address: IPAddress) -> bool:
    """True for a globally routable unicast address; False for private, loopback, link-local,
    multicast, reserved, unspecified and shared (CGNAT) ones, IPv4-mapped IPv6 included.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def check_url(url: str) -> httpx.URL:
    """Parse ``url`` and check its scheme and host (not its addresses: that happens on connect).

    Raises:
        UnsafeURLError: not an absolute http(s) URL with a host.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeURLError(f"{url!r} is not a valid URL: {exc}") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise UnsafeURLError(f"only http and https URLs can be fetched, not {url!r}")
    if not parsed.host:
        raise UnsafeURLError(f"{url!r} has no host name")
    return parsed


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (a literal address resolves to itself).

    Raises:
        FetchError: the name does not resolve.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: {exc}") from exc
    # Drop an IPv6 scope such as "%eth0" before parsing.
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    return list(dict.fromkeys(addresses))


class _CheckedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, but every connection goes to a checked, resolved address."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve_host(host, port)
        if not self._allow_private:
            refused = [a for a in addresses if not is_public_address(a)]
            if refused:
                where = (
                    host if str(refused[0]) == host else f"{host} resolves to {refused[0]}, which"
                )
                raise UnsafeURLError(f"{where} is a private or reserved address; {PRIVATE_HINT}")
        last_error: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None  # getaddrinfo never returns an empty list
        raise last_error

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _CheckedTransport(httpx.HTTPTransport):
    def __init__(self, allow_private: bool) -> None:
        super().__init__(trust_env=False)
        # httpx has no public hook for the network backend, so the pool is replaced with one
        # built like httpx's own (no proxy: a proxy would connect on our behalf, unchecked).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=_CheckedBackend(allow_private),
        )


def new_client(policy: FetchPolicy) -> httpx.Client:
    """An httpx client that enforces ``policy`` on every connection; close it after use."""
    return httpx.Client(
        transport=_CheckedTransport(policy.allow_private),
        timeout=httpx.Timeout(
            connect=policy.connect_timeout_s,
            read=policy.read_timeout_s,
            write=policy.read_timeout_s,
            pool=policy.connect_timeout_s,
        ),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,*/*"},
    )


def fetch(url: str, policy: FetchPolicy, client: httpx.Client | None = None) -> FetchedPage:
    """GET ``url`` within ``policy``, following at most ``policy.max_redirects`` redirects.

    Args:
        url: an absolute http(s) URL.
        policy: timeouts, size cap, redirect limit and whether private addresses are allowed.
        client: a client from ``new_client(policy)`` to reuse connections; one is made if None.

    Returns:
        The final response's body and metadata.

    Raises:
        FetchError: the page cannot be fetched; the subclass says why (see ``index.errors``).
    """
    if client is None:
        with new_client(policy) as own_client:
            return fetch(url, policy, own_client)
    current = check_url(url)
    for _ in range(policy.max_redirects + 1):
        with _translated_errors(str(current)), client.stream("GET", current) as response:
            if not response.has_redirect_location:
                return _read_page(response, url, policy)
            target = current.join(response.headers["Location"])
        logger.debug("Redirect %s -> %s", current, target)
        current = check_url(str(target))
    raise TooManyRedirectsError(f"{url} redirected more than {policy.max_redirects} times")


def _read_page(response: httpx.Response, requested: str, policy: FetchPolicy) -> FetchedPage:
    final = str(response.url)
    if response.status_code >= 400:
        raise BadStatusError(
            f"{final} answered HTTP {response.status_code} {response.reason_phrase}".rstrip(),
            response.status_code,
        )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise ResponseTooLargeError(_too_large(final, policy))
    deadline = time.monotonic() + policy.total_timeout_s
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > policy.max_bytes:
            raise ResponseTooLargeError(_too_large(final, policy))
        if time.monotonic() > deadline:
            raise FetchTimeoutError(f"{final} took longer than {policy.total_timeout_s:g} s")
        chunks.append(chunk)
    media_type = response.headers.get("Content-Type", "").partition(";")[0]
    return FetchedPage(
        url=final,
        requested_url=requested,
        status_code=response.status_code,
        content_type=media_type.strip().lower(),
        charset=response.charset_encoding,
        body=b"".join(chunks),
    )


def _too_large(url: str, policy: FetchPolicy) -> str:
    return f"{url} is larger than {policy.max_bytes} bytes (FETCH_MAX_BYTES)"


@contextlib.contextmanager
def _translated_errors(url: str) -> Iterator[None]:
    """Turn httpx's exceptions into our FetchError tree, naming the URL."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise FetchTimeoutError(f"{url} timed out ({type(exc).__name__})") from exc
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
        raise FetchError(f"cannot fetch {url}: {exc or type(exc).__name__}") from exc
