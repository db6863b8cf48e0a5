"""Fixtures for the Envoy filter suite: the simulated upstream, the real analyzer, the built
filter, and real Envoys configured per test."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "upstream_sim"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sim  # noqa: E402
from envoy_config import render  # noqa: E402
from harness import Analyzer, Envoy, free_port  # noqa: E402

WASM = Path(
    __import__("os").environ.get(
        "MNEMOSYNE_WASM", str(ROOT / "target" / "wasm32-wasip1" / "wasm-release" / "envoy_filter.wasm")
    )
)
ANALYZE_TOKEN = "envoy-analyze-token-0123456789"


@pytest.fixture(scope="session")
def upstream_port():
    server, port = sim.serve()
    yield port
    server.shutdown()


@pytest.fixture(autouse=True)
def reset_upstream(upstream_port):
    sim.Handler.state.reset()
    yield


@pytest.fixture(scope="session")
def analyzer(upstream_port):
    a = Analyzer({
        "MNEMOSYNE_UPSTREAM_URL": f"http://127.0.0.1:{upstream_port}/v1",
        "MNEMOSYNE_ANALYZE_TOKEN": ANALYZE_TOKEN,
    })
    yield a
    a.close()


@pytest.fixture
def make_envoy(upstream_port, analyzer):
    """`make_envoy(filter_config, analyzer_port=None, wait=True)` → (Envoy, base URL)."""
    started = []

    def make(filter_config, analyzer_port=None, wait=True):
        port = free_port()
        text = render(port, free_port(), upstream_port, analyzer_port or analyzer.port, WASM, filter_config)
        e = Envoy(text, wait=wait, listen_port=port)
        started.append(e)
        return e, f"http://127.0.0.1:{port}"

    yield make
    for e in started:
        e.close()


def upstream_requests():
    return [r for r in sim.Handler.state.snapshot() if r["path"].endswith("/chat/completions")]
