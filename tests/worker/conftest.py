"""Fixtures for the Worker suite: the Worker built once (scripts/build-worker.sh), served by the
real workerd through `wrangler dev` with a generated configuration per scenario, the real
analyzer, and the simulated upstream LLM."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "upstream_sim"))
sys.path.insert(0, str(ROOT / "tests"))

import sim  # noqa: E402
from harness import Analyzer, free_port  # noqa: E402

ANALYZE_TOKEN = "worker-analyze-token-0123456789"
SHIM = ROOT / "edge-filter" / "build" / "worker" / "shim.mjs"


class Wrangler:
    """`wrangler dev` (workerd) on a free 127.0.0.1 port with the given vars."""

    def __init__(self, variables):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.dir = tempfile.mkdtemp(prefix="mn-wrangler-")
        lines = [
            'name = "mnemosyne-edge-test"',
            f'main = "{SHIM}"',
            'compatibility_date = "2026-05-01"',
            "[vars]",
        ] + [f"{k} = {json.dumps(v)}" for k, v in variables.items()]
        (Path(self.dir) / "wrangler.toml").write_text("\n".join(lines) + "\n")
        self.log = open(Path(self.dir) / "wrangler.log", "w")
        env = dict(os.environ, WRANGLER_SEND_METRICS="false", CI="true")
        self.proc = subprocess.Popen(
            [str(ROOT / "node_modules" / ".bin" / "wrangler"), "dev", "--ip", "127.0.0.1", "--port", str(self.port),
             "--inspector-port", str(free_port()), "--show-interactive-dev-session=false", "--local"],
            cwd=self.dir, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("wrangler exited:\n" + self.log_text())
            try:
                urllib.request.urlopen(self.base + "/healthz-probe", timeout=1)
                return
            except urllib.error.HTTPError:
                return  # the Worker answered (any status)
            except Exception:
                time.sleep(0.2)
        raise RuntimeError("wrangler dev did not start:\n" + self.log_text())

    def log_text(self):
        return (Path(self.dir) / "wrangler.log").read_text(errors="replace")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
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


@pytest.fixture(scope="session")
def analyzer(upstream):
    a = Analyzer({"MNEMOSYNE_UPSTREAM_URL": upstream, "MNEMOSYNE_ANALYZE_TOKEN": ANALYZE_TOKEN})
    yield a
    a.close()


@pytest.fixture(scope="session")
def worker(upstream, analyzer):
    w = Wrangler({
        "UPSTREAM_URL": upstream,
        "GROQ_API_KEY": "sim-upstream-key-0123456789",
        "ANALYZER_URL": analyzer.base,
        "ANALYZER_TOKEN": ANALYZE_TOKEN,
        "ANALYZER_TIMEOUT_MS": "3000",
        "CORS_ALLOW_ORIGIN": "https://app.example.com",
        "POLICY": json.dumps({"limits": {"max_body_bytes": 65536}}),
    })
    yield w
    w.close()


@pytest.fixture
def make_worker(upstream):
    started = []

    def make(variables):
        w = Wrangler(dict({"UPSTREAM_URL": upstream}, **variables))
        started.append(w)
        return w

    yield make
    for w in started:
        w.close()


def upstream_requests():
    return [r for r in sim.Handler.state.snapshot() if r["path"].endswith("/chat/completions")]
