"""Real servers for tests (their fixtures are registered in tests/conftest.py): `transformers serve` with the packaged
SmolLM2 on a free localhost port, and a tiny `http.server` answering with the statuses `transformers serve` never sends."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SERVE_DEADLINE_S = 180  # loading the model on two busy cores; normally about 15 s


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def served_model_dir(isolated_cache) -> str:
    """The packaged SmolLM2-135M-Instruct as a local folder (what `transformers serve` loads and names it by)."""
    from training.model import default_model_dir

    return str(default_model_dir())


@pytest.fixture(scope="session")
def served(served_model_dir, tmp_path_factory):
    """An Endpoint for a real `transformers serve` of the packaged model, started once and stopped at the end."""
    from training.endpoints import Endpoint

    executable = Path(sys.executable).parent / "transformers"
    if not executable.exists():
        pytest.fail("`transformers serve` is not installed: pip install 'transformers[serving]' (the dev extra).")
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    # One torch thread: on a small shared CI machine the server and this process would otherwise both spin two
    # OpenMP threads per core; greedy replies are the same either way (checked against in-process generation).
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    command = [str(executable), "serve", "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
               "--log-level", "warning", served_model_dir]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                   preexec_fn=_die_with_parent)
    try:
        _wait_until_healthy(process, port, log)
        yield Endpoint(name="served", base_url=f"http://127.0.0.1:{port}/v1", model=served_model_dir,
                       concurrency=4, timeout_s=300, max_retries=0)
    finally:
        _stop(process)


def _die_with_parent() -> None:
    """In the server's child process: get SIGTERM when the test process dies, even by SIGKILL or a timeout, so a
    killed test run never leaves a 1 GB server behind (Linux's PR_SET_PDEATHSIG; elsewhere nothing is done)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _wait_until_healthy(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + SERVE_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`transformers serve` exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"`transformers serve` was not ready within {SERVE_DEADLINE_S} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    """Stop the server's whole process group: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass


# ---- a tiny real HTTP server for the statuses transformers serve never sends ----

#: scenario -> (status, extra headers, body); the scenario is the first path segment: /SCENARIO/v1/chat/completions.
_COMPLETION = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello."}, "finish_reason": "stop"}]}
SCENARIOS: dict[str, tuple[int, dict[str, str], object]] = {
    "unauthorised": (401, {}, {"error": {"message": "Incorrect API key provided: {auth}.", "code": "invalid_api_key"}}),
    "forbidden": (403, {}, {"error": {"message": "Project does not have access to this model."}}),
    "rate-limited": (429, {"retry-after": "1"}, {"error": {"message": "Rate limit reached for requests.",
                                                           "code": "rate_limit_exceeded"}}),
    "no-model": (404, {}, {"error": {"message": "The model `m` does not exist.", "code": "model_not_found"}}),
    "context": (400, {}, {"error": {"message": "This model's maximum context length is 8192 tokens. However, your "
                                               "messages resulted in 9033 tokens.", "code": "context_length_exceeded"}}),
    "bad-request": (400, {}, {"error": {"message": "temperature must be at most 2."}}),
    "server-error": (500, {}, {"error": {"message": "The server had an error."}}),
    "not-json": (200, {}, "<html>this is a login page, not an API</html>"),
    "html-page": (200, {"content-type": "text/html"}, "<html>this is a login page, not an API</html>"),
    "no-choices": (200, {}, {**_COMPLETION, "choices": []}),
    "null-content": (200, {}, {**_COMPLETION, "choices": [{"index": 0, "finish_reason": "stop",
                                                           "message": {"role": "assistant", "content": None}}]}),
    "no-usage": (200, {}, _COMPLETION),
}


class StatusServer:
    """A real HTTP server on 127.0.0.1 answering each scenario's status; counts the requests it got."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        handler = self._handler()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, scenario: str) -> str:
        """The base URL that gets the scenario's answer."""
        return f"http://127.0.0.1:{self.port}/{scenario}/v1"

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                scenario = self.path.strip("/").split("/")[0]
                with server.lock:
                    server.hits[scenario] = server.hits.get(scenario, 0) + 1
                status, headers, body = SCENARIOS.get(scenario, (404, {}, {"error": {"message": "unknown"}}))
                text = body if isinstance(body, str) else json.dumps(body)
                text = text.replace("{auth}", self.headers.get("authorization", ""))  # servers echo what they got
                data = text.encode()
                self.send_response(status)
                for name, value in {"content-type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        return Handler


@pytest.fixture(scope="session")
def status_server():
    """The tiny status server, started once for the session."""
    server = StatusServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
