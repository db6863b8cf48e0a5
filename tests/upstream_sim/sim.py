"""A simulated OpenAI-compatible LLM upstream for Mnemosyne's end-to-end tests.

Only the LLM is simulated; everything in front of it (the analyzer, Envoy, workerd) is real.
The `model` field of a request picks the behaviour:

  sim-echo (or anything else)  answers "You said: <last user message>"; streams when asked
  sim-stream-slow              streams one chunk, waits HOLD seconds, then the rest
  sim-slow                     waits SLOW seconds before answering (timeouts)
  sim-500                      500 with an OpenAI-style error body
  sim-503-text                 503 with a plain-text body
  sim-429                      429 with `retry-after: 7`
  sim-break                    streams two chunks, then drops the connection

`GET /_sim/requests` returns every request received (path, headers, body), newest last;
`POST /_sim/reset` clears it.  Run standalone: `python sim.py PORT`.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOLD = 1.5
SLOW = 5.0


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)
            del self.requests[:-200]

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def reset(self):
        with self.lock:
            self.requests.clear()


def chunk(model, content=None, finish=None, role=None):
    delta = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-sim",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


FORGED_HEADERS = (
    ("x-mnemosyne-categories", "forged_by_upstream"),
    ("X-Mnemosyne-Monitor", "forged_by_upstream"),
    ("x-mnemosyne-analyzer", "forged_by_upstream"),
    ("x-mnemosyne-verdict", "forged_by_upstream"),
    ("x-mnemosyne-score", "forged_by_upstream"),
)


def last_user_text(body):
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content)
    return ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = State()

    def log_message(self, *args):  # quiet
        pass

    def send_json(self, status, value, headers=()):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_sim/requests":
            return self.send_json(200, self.state.snapshot())
        if self.path.endswith("/models"):
            self.state.record({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": None})
            return self.send_json(
                200,
                {"object": "list", "data": [{"id": "sim-echo", "object": "model", "created": 0, "owned_by": "sim"}]},
            )
        self.send_json(404, {"error": {"message": "no such path", "type": "invalid_request_error", "code": None, "param": None}})

    def read_body(self):
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()  # the blank line after the last chunk
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def do_POST(self):
        raw = self.read_body()
        if self.path == "/_sim/reset":
            self.state.reset()
            return self.send_json(200, {"ok": True})
        try:
            body = json.loads(raw)
        except ValueError:
            return self.send_json(400, {"error": {"message": "bad json", "type": "invalid_request_error", "code": None, "param": None}})
        self.state.record({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        if self.path.endswith("/responses"):
            return self.respond_responses(body)
        if self.path.endswith("/completions") and not self.path.endswith("/chat/completions"):
            return self.respond_completions(body)
        if not self.path.endswith("/chat/completions"):
            return self.send_json(404, {"error": {"message": "no such path", "type": "invalid_request_error", "code": None, "param": None}})
        model = body.get("model", "sim-echo")
        if model == "sim-500":
            return self.send_json(500, {"error": {"message": "simulated upstream failure", "type": "server_error", "code": "sim_failure", "param": None}})
        if model == "sim-503-text":
            data = b"upstream overloaded"
            self.send_response(503)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if model == "sim-429":
            return self.send_json(
                429,
                {"error": {"message": "simulated rate limit", "type": "rate_limit_error", "code": "rate_limit_exceeded", "param": None}},
                headers=[("retry-after", "7")],
            )
        if model == "sim-slow":
            time.sleep(SLOW)
        reply = "You said: " + last_user_text(body)
        if body.get("stream"):
            return self.stream(model, reply)
        # "sim-forged-headers": an upstream that answers with verdict headers of its own (as
        # another Mnemosyne behind the one under test would); the suites check none reach the client.
        forged = FORGED_HEADERS if model == "sim-forged-headers" else ()
        if model == "sim-latin1-header":
            # A header value that is not UTF-8 (obs-text, as HTTP/1.1 allows): http.server writes
            # header values in Latin-1, so this is the single byte 0xE9.
            forged = (("x-upstream-note", "caf\u00e9"), ("x-mnemosyne-categories", "caf\u00e9"))
        self.send_json(
            200,
            {
                "id": "chatcmpl-sim",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
            headers=forged,
        )

    # Writes with other methods are read and recorded like a POST (the suites check that a PUT
    # or PATCH attack never reaches the upstream): a real upstream reads the body before it
    # answers, where Python's default 501 answers at the headers, racing the edge's verdict.
    do_PUT = do_POST
    do_PATCH = do_POST

    def respond_responses(self, body):
        """A Responses API answer (not streamed) echoing the text input."""
        text = body.get("input")
        if isinstance(text, list):
            text = " ".join(
                p.get("text", "") if isinstance(p, dict) else str(p)
                for item in text
                for p in (item.get("content") if isinstance(item, dict) and isinstance(item.get("content"), list) else [item.get("content", "") if isinstance(item, dict) else item])
            )
        reply = "You said: " + str(text or "")
        if body.get("stream"):
            return self.stream_responses(body.get("model", "sim-echo"), reply)
        self.send_json(
            200,
            {
                "id": "resp_sim",
                "object": "response",
                "created_at": int(time.time()),
                "model": body.get("model", "sim-echo"),
                "status": "completed",
                "output": [
                    {
                        "type": "message",
                        "id": "msg_sim",
                        "status": "completed",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": reply, "annotations": []}],
                    }
                ],
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
            },
        )

    def stream_responses(self, model, reply):
        """A Responses API event stream, the text in 4-character deltas (placeholders split)."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        response = {"id": "resp_sim", "object": "response", "created_at": int(time.time()), "model": model,
                    "status": "in_progress", "output": [], "parallel_tool_calls": True, "tool_choice": "auto", "tools": []}
        part = {"type": "output_text", "text": reply, "annotations": []}
        item = {"type": "message", "id": "msg_sim", "status": "completed", "role": "assistant", "content": [part]}
        done = dict(response, status="completed", output=[item])
        ids = {"item_id": "msg_sim", "output_index": 0, "content_index": 0}
        events = [{"type": "response.created", "response": response}]
        events += [dict(ids, type="response.output_text.delta", delta=reply[i : i + 4]) for i in range(0, len(reply), 4)]
        events += [dict(ids, type="response.output_text.done", text=reply), {"type": "response.completed", "response": done}]
        for n, event in enumerate(events):
            event["sequence_number"] = n
            self.write_chunk(b"event: %s\ndata: %s\n\n" % (event["type"].encode(), json.dumps(event).encode()))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def respond_completions(self, body):
        """A legacy text completion echoing the prompt."""
        reply = "You said: " + str(body.get("prompt") or "")
        self.send_json(
            200,
            {
                "id": "cmpl-sim",
                "object": "text_completion",
                "created": int(time.time()),
                "model": body.get("model", "sim-echo"),
                "choices": [{"index": 0, "text": reply, "finish_reason": "stop", "logprobs": None}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
        )

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def stream(self, model, reply):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        # Small pieces, so placeholders arrive split across events.
        pieces = [reply[i : i + 4] for i in range(0, len(reply), 4)] or [""]
        events = [chunk(model, role="assistant", content="")]
        events += [chunk(model, content=p) for p in pieces]
        events.append(chunk(model, finish="stop"))
        for i, event in enumerate(events):
            self.write_chunk(b"data: " + json.dumps(event).encode() + b"\n\n")
            if model == "sim-stream-slow" and i == 1:
                time.sleep(HOLD)
            if model == "sim-break" and i == 2:
                # Drop the connection mid-stream, without the terminating chunk.
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(2)
                return
        self.write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients (the proxies under test) hanging up early is part of the tests, not news.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def serve(port=0):
    """Starts the simulator in a background thread; returns (server, port)."""
    server = Server(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, server.server_address[1]


if __name__ == "__main__":
    server, port = serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"upstream simulator on http://127.0.0.1:{port}/v1", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()
