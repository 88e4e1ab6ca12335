"""Safe fetching against a real server on 127.0.0.1: redirects, timeouts, size cap, addresses."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from index.config import Settings
from index.errors import (
    BadStatusError,
    FetchError,
    FetchTimeoutError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    UnsafeURLError,
)
from index.intake.fetch import FetchPolicy, fetch, is_public_address
from tests.loopback import LoopbackSite

LOCAL = FetchPolicy(allow_private=True, read_timeout_s=2.0, max_bytes=50_000, max_redirects=3)


def test_fetch_follows_a_redirect_chain_to_the_page(site: LoopbackSite) -> None:
    site.page("/story", "<p>hello</p>")
    site.redirect("/r1", "/r2")
    site.redirect("/r2", site.url("/r3"), status=301)
    site.redirect("/r3", "/story")

    page = fetch(site.url("/r1"), LOCAL)

    assert page.url == site.url("/story")
    assert page.requested_url == site.url("/r1")
    assert page.body == b"<p>hello</p>"
    assert (page.content_type, page.charset, page.is_html) == ("text/html", "utf-8", True)


def test_more_redirects_than_allowed_are_refused(site: LoopbackSite) -> None:
    for n in range(5):
        site.redirect(f"/loop{n}", f"/loop{n + 1}")

    with pytest.raises(TooManyRedirectsError, match="more than 3"):
        fetch(site.url("/loop0"), LOCAL)


def test_a_redirect_to_another_scheme_is_refused(site: LoopbackSite) -> None:
    site.redirect("/to-file", "file:///etc/passwd")

    with pytest.raises(UnsafeURLError, match="only http and https"):
        fetch(site.url("/to-file"), LOCAL)


def test_a_slow_server_times_out(site: LoopbackSite) -> None:
    site.page("/slow", "late", delay_s=1.5)
    policy = FetchPolicy(allow_private=True, read_timeout_s=0.3)

    with pytest.raises(FetchTimeoutError, match="timed out"):
        fetch(site.url("/slow"), policy)


def test_a_server_error_is_reported_with_its_status(site: LoopbackSite) -> None:
    site.page("/broken", "oops", status=500)

    with pytest.raises(BadStatusError, match="HTTP 500") as caught:
        fetch(site.url("/broken"), LOCAL)
    assert caught.value.status_code == 500


@pytest.mark.parametrize(
    "chunks", [pytest.param(0, id="content-length"), pytest.param(20, id="streamed")]
)
def test_a_body_over_the_size_cap_is_refused(site: LoopbackSite, chunks: int) -> None:
    body = b"x" * (60_000 if chunks == 0 else 10_000)
    site.page("/huge", body, chunks=chunks)

    with pytest.raises(ResponseTooLargeError, match="larger than 50000 bytes"):
        fetch(site.url("/huge"), LOCAL)


def test_loopback_is_refused_unless_private_urls_are_allowed(site: LoopbackSite) -> None:
    site.page("/story", "<p>hello</p>")
    port = site.url("").rsplit(":", 1)[1]

    with pytest.raises(UnsafeURLError, match="ALLOW_PRIVATE_URLS=1"):
        fetch(site.url("/story"), FetchPolicy())
    with pytest.raises(UnsafeURLError, match="localhost resolves to 127.0.0.1"):
        fetch(f"http://localhost:{port}/story", FetchPolicy())
    assert site.hits["/story"] == 0
    assert fetch(site.url("/story"), FetchPolicy(allow_private=True)).body == b"<p>hello</p>"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://10.1.2.3/", id="private-10"),
        pytest.param("http://192.168.0.1/", id="private-192"),
        pytest.param("http://169.254.169.254/", id="link-local-metadata"),
        pytest.param("http://0.0.0.0/", id="unspecified"),
        pytest.param("http://224.0.0.1/", id="multicast"),
        pytest.param("http://[::1]/", id="ipv6-loopback"),
        pytest.param("http://[::ffff:127.0.0.1]/", id="ipv4-mapped-loopback"),
        pytest.param("http://[fe80::1]/", id="ipv6-link-local"),
    ],
)
def test_private_and_reserved_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError, match="private or reserved"):
        fetch(url, FetchPolicy(connect_timeout_s=0.5))


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700:4700::1111", True),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("240.0.0.1", False),  # reserved
        ("::ffff:10.0.0.1", False),
        ("fc00::1", False),  # unique local
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("ftp://example.org/file", id="ftp"),
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("example.org/news", id="no-scheme"),
        pytest.param("http:///path-only", id="no-host"),
    ],
)
def test_only_http_urls_with_a_host_are_fetched(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        fetch(url, LOCAL)


def test_a_closed_port_is_a_fetch_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and is now closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(FetchError, match="cannot fetch"):
        fetch(f"http://127.0.0.1:{port}/", LOCAL)


def test_fetch_policy_comes_from_the_settings() -> None:
    settings = Settings.from_env(
        {"ALLOW_PRIVATE_URLS": "1", "FETCH_TIMEOUT_S": "3", "FETCH_MAX_BYTES": "2048"}
    )

    policy = FetchPolicy.from_settings(settings)

    assert (policy.allow_private, policy.read_timeout_s, policy.max_bytes) == (True, 3.0, 2048)
    assert FetchPolicy.from_settings(Settings()).allow_private is False
