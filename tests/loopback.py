"""A small web site on 127.0.0.1 for fetch, feed and ingest tests (stdlib server in a thread)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"


@dataclass
class Route:
    """A canned response; ``delay_s`` waits before answering, ``chunks`` streams the body
    in that many pieces without a Content-Length."""

    body: bytes = b""
    status: int = 200
    content_type: str = HTML
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    chunks: int = 0


class LoopbackServer:
    """A stdlib HTTP server on 127.0.0.1 (a free port) in a thread, until ``close``; a context
    manager. Subclasses call ``_serve`` with their handler class."""

    def _serve(self, handler: Callable[..., BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LoopbackSite(LoopbackServer):
    """Serves ``routes`` (path -> Route) on 127.0.0.1 until closed; counts requests per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self._serve(_handler_for(self))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def page(self, path: str, body: str | bytes, content_type: str = HTML, **kwargs: object) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(data, content_type=content_type, **kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.routes[path] = Route(status=status, headers={"Location": location})
        return self.url(path)


def _handler_for(site: LoopbackSite) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
            pass

        def do_GET(self) -> None:  # noqa: N802 (stdlib name)
            path = self.path.split("?", 1)[0]
            site.hits[path] += 1
            route = site.routes.get(path, Route(b"not found", status=404))
            try:
                time.sleep(route.delay_s)
                self._answer(route)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout or size-cap test): that is the point

        def _answer(self, route: Route) -> None:
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            for name, value in route.headers.items():
                self.send_header(name, value)
            if not route.chunks:
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)
                return
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(route.chunks):
                self.wfile.write(route.body)
                self.wfile.flush()

    return Handler


def article_html(
    title: str, paragraphs: list[str], canonical: str | None = None, published: str | None = None
) -> str:
    """A news page with navigation and footer around the article, as real sites have."""
    head = [f"<title>{escape(title)} | The Loopback Herald</title>"]
    if canonical:
        head.append(f'<link rel="canonical" href="{escape(canonical)}">')
    if published:
        head.append(f'<meta property="article:published_time" content="{published}">')
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        '<!doctype html><html><head><meta charset="utf-8">' + "".join(head) + "</head><body>"
        "<nav><a href='/'>Home</a> | <a href='/world'>World</a> | <a href='/sport'>Sport</a></nav>"
        f"<article><h1>{escape(title)}</h1>{body}</article>"
        "<footer>© The Loopback Herald. All rights reserved.</footer></body></html>"
    )


def rss_feed(items: list[dict[str, str]]) -> str:
    """An RSS 2.0 document; each item may have title, link, guid, pubDate, description."""
    parts = []
    for item in items:
        fields = "".join(f"<{key}>{escape(value)}</{key}>" for key, value in item.items())
        parts.append(f"<item>{fields}</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Loopback Herald</title><link>http://127.0.0.1/</link>"
        f"<description>News</description>{''.join(parts)}</channel></rss>"
    )


def atom_feed(entries: list[dict[str, str]]) -> str:
    """An Atom document; each entry has id, title, link, updated and optionally summary."""
    parts = []
    for entry in entries:
        summary = f"<summary>{escape(entry['summary'])}</summary>" if "summary" in entry else ""
        parts.append(
            f"<entry><id>{escape(entry['id'])}</id><title>{escape(entry['title'])}</title>"
            f'<link href="{escape(entry["link"])}"/><updated>{entry["updated"]}</updated>'
            f"{summary}</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Loopback Science</title><id>urn:loopback:science</id>"
        f"<updated>2024-05-01T00:00:00Z</updated>{''.join(parts)}</feed>"
    )
