"""A fake OpenAI-compatible chat-completions server on 127.0.0.1 (stdlib server in a thread).

Each POST to ``/v1/chat/completions`` takes the next queued ``Reply`` (or repeats the default
one): a JSON completion, a streamed (SSE) one, an HTTP error status, a body that is not JSON, an
empty completion, or any of them after a stall. The requests are kept (headers and JSON body), so
tests can see what the model was asked.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import LoopbackServer

MODEL = "fake-model-1"
API_KEY = "sk-test-SECRET-0123456789"


@dataclass
class Reply:
    """One canned answer. ``events`` makes it a stream: each is sent as one SSE ``data:``
    line, flushed, ``event_gap_s`` apart."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    events: list[str] | None = None
    event_gap_s: float = 0.0


def completion(text: str | None) -> Reply:
    """A chat completion whose message says ``text`` (None: a null content)."""
    payload = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": MODEL,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
    }
    return Reply(body=json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def streamed(pieces: list[str], gap_s: float = 0.0) -> Reply:
    """A streamed chat completion: one delta per piece, then ``[DONE]``."""
    events = [
        json.dumps(
            {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]},
            ensure_ascii=False,
        )
        for delta in [{"role": "assistant"}, *({"content": p} for p in pieces)]
    ]
    return Reply(content_type="text/event-stream", events=[*events, "[DONE]"], event_gap_s=gap_s)


def status(code: int, retry_after_s: float | None = None) -> Reply:
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else {}
    body = json.dumps({"error": {"message": f"status {code}", "type": "server_error"}})
    return Reply(status=code, body=body.encode("utf-8"), headers=headers)


def malformed() -> Reply:
    return Reply(body=b'{"choices": [{"message": {"content": "Sberbank [1]."')


def stalled(seconds: float, then: Reply | None = None) -> Reply:
    """``then`` (a completion by default), after ``seconds`` of silence."""
    reply = then or completion("Sberbank developed GigaChat [1].")
    reply.delay_s = seconds
    return reply


def quote_passage(n: int) -> Callable[[Request], Reply]:
    """A responder that answers with the first sentence of passage ``n``, marked [n] (a
    well-behaved model citing that passage)."""

    def respond(request: Request) -> Reply:
        for line in request.user_text.splitlines():
            if line.startswith(f"[{n}] "):
                text = line.split(": ", 1)[1]
                return completion(text.split(". ")[0].rstrip(".") + f" [{n}].")
        return completion("I cannot tell from these passages.")

    return respond


@dataclass
class Request:
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def user_text(self) -> str:
        return "\n".join(m["content"] for m in self.body["messages"] if m["role"] == "user")


class FakeLlmApi(LoopbackServer):
    """Serves queued replies on 127.0.0.1 until closed; ``base_url`` ends in ``/v1``."""

    def __init__(self, api_key: str | None = None) -> None:
        # As a hosted API does: with a key set, a request without "Bearer <key>" is a 401
        # (without one it takes any, as Ollama and llama.cpp's server do).
        self.api_key = api_key
        self.default = completion("")
        self.replies: deque[Reply] = deque()
        # When set, what answers each request (instead of the queue).
        self.responder: Callable[[Request], Reply] | None = None
        self.requests: list[Request] = []
        self._stopping = threading.Event()
        self._serve(_handler_for(self))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reply(self, *replies: Reply) -> FakeLlmApi:
        """Answer the next requests with ``replies`` in order, then with the last one."""
        self.replies.extend(replies)
        self.default = replies[-1]
        return self

    def next_reply(self) -> Reply:
        return self.replies.popleft() if self.replies else self.default

    def close(self) -> None:
        self._stopping.set()  # ends the stalls
        super().close()


def _handler_for(api: FakeLlmApi) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Buffered: headers and body leave in one write (written apart, a kept-alive connection
        # waits ~40 ms for the client's delayed ACK, as tests/fake_bot_api.py found).
        wbufsize = -1

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
            pass

        def do_POST(self) -> None:  # noqa: N802 (stdlib name)
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if self.path != "/v1/chat/completions":
                self._send(Reply(status=404, body=b'{"error": "no such path"}'))
                return
            refusal = _refusal(api, self.headers.get("Authorization"), raw)
            if refusal is not None:
                self._send(refusal)
                return
            request = Request(dict(self.headers.items()), json.loads(raw))
            api.requests.append(request)
            reply = api.responder(request) if api.responder else api.next_reply()
            try:
                if reply.delay_s and api._stopping.wait(reply.delay_s):
                    return
                self._send(reply)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its deadline): that is what a stall tests

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.events is None:
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                return
            self.send_header("Connection", "close")
            self.end_headers()
            for event in reply.events:
                if reply.event_gap_s and api._stopping.wait(reply.event_gap_s):
                    return
                self.wfile.write(f"data: {event}\n\n".encode())
                self.wfile.flush()
            self.close_connection = True

    return Handler


ROLES = frozenset({"system", "user", "assistant"})


def _refusal(api: FakeLlmApi, authorization: str | None, raw: bytes) -> Reply | None:
    """What an OpenAI-compatible server answers a request it will not take (None: it takes it):
    401 for a missing or wrong key, 400 for a body that is not a chat request, 404 for a model it
    does not have."""
    if api.api_key is not None and authorization != f"Bearer {api.api_key}":
        return _error(401, "invalid api key")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "the body is not JSON")
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages:
        return _error(400, "'messages' must be a non-empty list")
    for message in messages:
        if not (
            isinstance(message, dict)
            and message.get("role") in ROLES
            and isinstance(message.get("content"), str)
        ):
            return _error(400, "each message needs a role and a string content")
    if body.get("model") != MODEL:
        return _error(404, f"model {body.get('model')!r} not found")
    return None


def _error(code: int, message: str) -> Reply:
    return Reply(status=code, body=json.dumps({"error": {"message": message}}).encode())
