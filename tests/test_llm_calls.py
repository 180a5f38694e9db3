"""LLM client calls recorded automatically by init(): the real `openai` client against a
local fake transport (httpx.MockTransport) serving realistic responses. No network."""

from __future__ import annotations

import json

import pytest
from conftest import load, only_session, run_script


def llm_nodes(info) -> list:
    """A session's LLM calls in the order they started."""
    return sorted((n for n in info.nodes.values() if n.kind == "llm"), key=lambda n: n.start)


pytest.importorskip("openai")
pytest.importorskip("openinference.instrumentation.openai")

FAKE_OPENAI = """
import json
try:  # openai 3.x speaks httpx2; 1.x and 2.x httpx
    import httpx2 as httpx
except ImportError:
    import httpx

COMPLETION = {
    "id": "chatcmpl-AbC123", "object": "chat.completion", "created": 1732550000, "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "The capital of France is Paris.", "refusal": None},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 14, "completion_tokens": 8, "total_tokens": 22},
    "system_fingerprint": "fp_0ba0d124f1",
}

def chunk(delta, finish=None, usage=None):
    body = {"id": "chatcmpl-S1", "object": "chat.completion.chunk", "created": 1732550001, "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if delta is not None else [],
            "usage": usage}
    return "data: " + json.dumps(body) + "\\n\\n"

STREAM = (chunk({"role": "assistant", "content": ""}) + chunk({"content": "Bonjour"}) + chunk({"content": " !"})
          + chunk({}, "stop") + chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}) + "data: [DONE]\\n\\n")

def handler(request):
    body = json.loads(request.content)
    if body["messages"][-1]["content"] == "fail":
        return httpx.Response(429, json={"error": {"message": "Rate limit reached for gpt-4o-mini", "type": "requests",
                                                   "param": None, "code": "rate_limit_exceeded"}})
    if body.get("stream"):
        return httpx.Response(200, content=STREAM.encode(), headers={"content-type": "text/event-stream"})
    return httpx.Response(200, json=COMPLETION)

transport = httpx.MockTransport(handler)
"""


def test_openai_calls_become_llm_events_after_init(tmp_path):
    run_script(
        FAKE_OPENAI
        + f"""
import openai, recorder
recorder.init(directory={str(tmp_path)!r}, tags=["llm-test"])
client = openai.OpenAI(api_key="sk-test-not-real-0000000000000000", max_retries=0, http_client=httpx.Client(transport=transport))
answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "Capital of France?"}}])
assert answer.choices[0].message.content == "The capital of France is Paris."
stream = client.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "Say hello in French"}}],
                                        stream=True, stream_options={{"include_usage": True}})
assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Bonjour !"
try:
    client.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "fail"}}])
except openai.RateLimitError:
    pass
recorder.end_session("Success")
"""
    )
    info = only_session(tmp_path)
    assert info.tags == ["llm-test"] and info.end_state == "Success"
    llm = llm_nodes(info)
    assert len(llm) == 3 and info.llm_calls == 3
    plain, streamed, failed = llm
    assert plain.attrs["model"] == "gpt-4o-mini-2024-07-18"
    assert plain.attrs["prompt"] == [{"role": "user", "content": "Capital of France?"}]
    assert plain.attrs["completion"] == {"role": "assistant", "content": "The capital of France is Paris."}
    assert (plain.attrs["prompt_tokens"], plain.attrs["completion_tokens"]) == (14, 8)
    assert plain.attrs["cost"] == pytest.approx((14 * 0.15 + 8 * 0.6) / 1e6)  # priced as gpt-4o-mini
    assert plain.end > plain.start
    assert "Bonjour !" in json.dumps(streamed.attrs["completion"])  # recorded once the stream finished
    assert failed.attrs.get("error") and "Rate limit" in failed.attrs["error"]["message"]
    data = b"".join(p.read_bytes() for p in tmp_path.glob("*.trail"))
    assert b"sk-test-not-real" not in data  # the client's key is not recorded


def test_instrumentation_can_be_turned_off(tmp_path):
    run_script(
        FAKE_OPENAI
        + f"""
import openai, recorder
recorder.init(directory={str(tmp_path)!r}, instrument_llm_calls=False)
client = openai.OpenAI(api_key="sk-test", max_retries=0, http_client=httpx.Client(transport=transport))
client.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}])
recorder.end_session("Success")
"""
    )
    catalog, _ = load(tmp_path)
    (info,) = catalog.sessions.values()
    assert info.llm_calls == 0


FAKE_ANTHROPIC = """
import json
try:
    import httpx2 as httpx
except ImportError:
    import httpx

MESSAGE = {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-20241022",
           "content": [{"type": "text", "text": "Paris is the capital of France."}], "stop_reason": "end_turn",
           "stop_sequence": None, "usage": {"input_tokens": 13, "output_tokens": 9}}

def sse(event, data):
    return f"event: {event}\\ndata: {json.dumps(data)}\\n\\n"

STREAM = (
    sse("message_start", {"type": "message_start", "message": {**MESSAGE, "content": [], "usage": {"input_tokens": 10, "output_tokens": 1}}})
    + sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    + sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Bon"}})
    + sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "jour"}})
    + sse("content_block_stop", {"type": "content_block_stop", "index": 0})
    + sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 4}})
    + sse("message_stop", {"type": "message_stop"})
)

def handler(request):
    body = json.loads(request.content)
    if body["messages"][-1]["content"] == "fail":
        return httpx.Response(529, json={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    if body.get("stream"):
        return httpx.Response(200, content=STREAM.encode(), headers={"content-type": "text/event-stream"})
    return httpx.Response(200, json=MESSAGE)

transport = httpx.MockTransport(handler)
"""


def test_anthropic_calls_become_llm_events_after_init(tmp_path):
    pytest.importorskip("anthropic")
    pytest.importorskip("openinference.instrumentation.anthropic")
    run_script(
        FAKE_ANTHROPIC
        + f"""
import anthropic, recorder
recorder.init(directory={str(tmp_path)!r}, tags=["claude"])
client = anthropic.Anthropic(api_key="sk-ant-test-not-real-000000000000", max_retries=0, http_client=httpx.Client(transport=transport))
message = client.messages.create(model="claude-3-5-haiku", max_tokens=100, messages=[{{"role": "user", "content": "Capital of France?"}}])
assert message.content[0].text == "Paris is the capital of France."
with client.messages.stream(model="claude-3-5-haiku", max_tokens=100, messages=[{{"role": "user", "content": "Hello in French"}}]) as stream:
    assert "".join(stream.text_stream) == "Bonjour"
try:
    client.messages.create(model="claude-3-5-haiku", max_tokens=100, messages=[{{"role": "user", "content": "fail"}}])
except anthropic.APIStatusError:
    pass
recorder.end_session("Success")
"""
    )
    info = only_session(tmp_path)
    llm = llm_nodes(info)
    assert len(llm) == 3
    plain, streamed, failed = llm
    assert plain.attrs["model"] == "claude-3-5-haiku-20241022"
    assert plain.attrs["completion"] == {"role": "assistant", "content": "Paris is the capital of France."}
    assert (plain.attrs["prompt_tokens"], plain.attrs["completion_tokens"]) == (13, 9)
    assert plain.attrs["cost"] == pytest.approx((13 * 0.8 + 9 * 4.0) / 1e6)
    assert "Bonjour" in json.dumps(streamed.attrs["completion"])
    assert failed.attrs.get("error") and "Overloaded" in failed.attrs["error"]["message"]
