"""A local OpenAI- and Anthropic-compatible HTTP server for tests: chat completions, the
Responses API and the Messages API, plain and streamed (SSE), with tool calls and errors.

It plays a script: each request takes the next ``Reply`` (a text, tool calls, or an HTTP
error), rendered in the wire format of the endpoint that was called, and the server keeps
what it served (model, usage) so a test can compare a recording with what was billed.
Standard library only; listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    text: str | None = None
    tool_calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (id, name, arguments)
    usage: tuple[int, int] = (20, 10)  # prompt (input) tokens, completion (output) tokens
    status: int = 200  # an HTTP error when not 200
    error: str = ""


def text(content: str, usage: tuple[int, int] = (20, 10)) -> Reply:
    return Reply(text=content, usage=usage)


def tools(*calls: tuple[str, str, dict[str, Any]], usage: tuple[int, int] = (30, 12)) -> Reply:
    return Reply(tool_calls=list(calls), usage=usage)


def failure(status: int, message: str) -> Reply:
    return Reply(status=status, error=message, usage=(0, 0))


@dataclass
class Served:
    path: str
    model: str
    stream: bool
    reply: Reply
    request: dict[str, Any]


class LLMServer:
    """``with LLMServer() as server: server.play(text("hi")); ... server.url``."""

    def __init__(self) -> None:
        self.script: deque[Reply] = deque()
        self.served: list[Served] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                owner.handle(self, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> LLMServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def play(self, *replies: Reply) -> None:
        with self.lock:
            self.script.extend(replies)

    # ------------------------------------------------------------------ what was served
    def billed(self) -> tuple[int, int, int]:
        """(calls, prompt tokens, completion tokens) served so far; a failed call is a call
        that used no tokens."""
        ok = [s for s in self.served if s.reply.status == 200]
        return len(self.served), sum(s.reply.usage[0] for s in ok), sum(s.reply.usage[1] for s in ok)

    # ------------------------------------------------------------------ requests
    def handle(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        path = handler.path.split("?")[0]
        with self.lock:
            reply = self.script.popleft() if self.script else text("(the test script ran out of replies)")
            self.served.append(Served(path, str(body.get("model")), bool(body.get("stream")), reply, body))
        model = str(body.get("model") or "unknown")
        if reply.status != 200:
            kind = "rate_limit_error" if reply.status == 429 else "api_error"
            if path.endswith("/messages"):
                payload = {"type": "error", "error": {"type": kind, "message": reply.error}}
            else:
                payload = {"error": {"message": reply.error, "type": kind, "param": None, "code": kind}}
            return _send_json(handler, payload, reply.status)
        stream = bool(body.get("stream"))
        if path.endswith("/chat/completions"):
            if stream:
                return _send_sse(handler, _chat_chunks(model, reply))
            return _send_json(handler, _chat(model, reply))
        if path.endswith("/responses"):
            if stream:
                return _send_sse(handler, _response_events(model, reply))
            return _send_json(handler, _response(model, reply))
        if path.endswith("/messages"):
            if stream:
                return _send_sse(handler, _message_events(model, reply), named=True)
            return _send_json(handler, _message(model, reply))
        return _send_json(handler, {"error": {"message": f"no such endpoint {path}"}}, 404)


def _send_json(handler: BaseHTTPRequestHandler, payload: dict[str, Any], status: int = 200) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    if status == 429:
        handler.send_header("retry-after", "0")
    handler.end_headers()
    handler.wfile.write(data)


def _send_sse(handler: BaseHTTPRequestHandler, events: list[dict[str, Any] | str], named: bool = False) -> None:
    chunks = []
    for event in events:
        if isinstance(event, str):
            chunks.append(f"data: {event}\n\n")
        elif named:
            chunks.append(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n")
        else:
            chunks.append(f"data: {json.dumps(event)}\n\n")
    data = "".join(chunks).encode()
    handler.send_response(200)
    handler.send_header("content-type", "text/event-stream")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


# ---------------------------------------------------------------------- chat completions


def _chat(model: str, reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            for cid, name, args in reply.tool_calls
        ]
    prompt, completion = reply.usage
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1764460800,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


def _chat_chunks(model: str, reply: Reply) -> list[dict[str, Any] | str]:
    def chunk(
        delta: dict[str, Any] | None, finish: str | None = None, usage: dict[str, int] | None = None
    ) -> dict[str, Any]:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        return {
            "id": "chatcmpl-s",
            "object": "chat.completion.chunk",
            "created": 1764460800,
            "model": model,
            "choices": choices,
            "usage": usage,
        }

    events: list[dict[str, Any] | str] = [chunk({"role": "assistant", "content": ""})]
    if reply.text:
        half = len(reply.text) // 2
        events += [chunk({"content": reply.text[:half]}), chunk({"content": reply.text[half:]})]
    for i, (cid, name, args) in enumerate(reply.tool_calls):
        events.append(
            chunk(
                {
                    "tool_calls": [
                        {"index": i, "id": cid, "type": "function", "function": {"name": name, "arguments": ""}}
                    ]
                }
            )
        )
        events.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": json.dumps(args)}}]}))
    events.append(chunk({}, "tool_calls" if reply.tool_calls else "stop"))
    prompt, completion = reply.usage
    events.append(
        chunk(
            None, usage={"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        )
    )
    events.append("[DONE]")
    return events


# ---------------------------------------------------------------------- Responses API


def _response_output(reply: Reply) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    if reply.text is not None:
        output.append(
            {
                "type": "message",
                "id": "msg_test",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": reply.text, "annotations": []}],
            }
        )
    for cid, name, args in reply.tool_calls:
        output.append(
            {
                "type": "function_call",
                "id": f"fc_{cid}",
                "call_id": cid,
                "name": name,
                "arguments": json.dumps(args),
                "status": "completed",
            }
        )
    return output


def _response(model: str, reply: Reply) -> dict[str, Any]:
    prompt, completion = reply.usage
    return {
        "id": "resp_test",
        "object": "response",
        "created_at": 1764460800,
        "status": "completed",
        "model": model,
        "output": _response_output(reply),
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        },
    }


def _response_events(model: str, reply: Reply) -> list[dict[str, Any] | str]:
    done = _response(model, reply)
    started = {**done, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any] | str] = [
        {"type": "response.created", "sequence_number": 0, "response": started},
    ]
    for index, item in enumerate(done["output"]):
        events.append(
            {"type": "response.output_item.added", "sequence_number": len(events), "output_index": index, "item": item}
        )
        if item["type"] == "message":
            text_value = item["content"][0]["text"]
            events.append(
                {
                    "type": "response.output_text.delta",
                    "sequence_number": len(events),
                    "item_id": item["id"],
                    "output_index": index,
                    "content_index": 0,
                    "delta": text_value,
                    "logprobs": [],
                }
            )
        events.append(
            {"type": "response.output_item.done", "sequence_number": len(events), "output_index": index, "item": item}
        )
    events.append({"type": "response.completed", "sequence_number": len(events), "response": done})
    return events


# ---------------------------------------------------------------------- Anthropic Messages API


def _message_content(reply: Reply) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    if reply.text is not None:
        content.append({"type": "text", "text": reply.text})
    for cid, name, args in reply.tool_calls:
        content.append({"type": "tool_use", "id": cid, "name": name, "input": args})
    return content


def _message(model: str, reply: Reply) -> dict[str, Any]:
    prompt, completion = reply.usage
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _message_content(reply),
        "stop_reason": "tool_use" if reply.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": completion},
    }


def _message_events(model: str, reply: Reply) -> list[dict[str, Any] | str]:
    prompt, completion = reply.usage
    start = {
        **_message(model, reply),
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": prompt, "output_tokens": 1},
    }
    events: list[dict[str, Any] | str] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(_message_content(reply)):
        if block["type"] == "text":
            events.append(
                {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
            )
            events.append(
                {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": block["text"]}}
            )
        else:
            events.append({"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}})
            events.append(
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])},
                }
            )
        events.append({"type": "content_block_stop", "index": index})
    stop = "tool_use" if reply.tool_calls else "end_turn"
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": completion},
        }
    )
    events.append({"type": "message_stop"})
    return events
