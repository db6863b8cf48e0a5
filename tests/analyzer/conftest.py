"""Fixtures: the simulated upstream LLM (in-process thread), the real analyzer binary, and
(for the Redis configuration) a real Redis 8 server."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "upstream_sim"))
sys.path.insert(0, str(ROOT / "tests"))

import sim  # noqa: E402
from harness import (  # noqa: E402,F401
    CLIENT_KEY,
    OPERATOR_TOKEN,
    UPSTREAM_KEY,
    Analyzer,
    Redis,
    free_port,
    wait_http,
)


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
