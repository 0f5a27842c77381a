"""Endpoints in the bake-off, against a real `transformers serve` of the same packaged model: prompt@/rag@ score
exactly like the in-process candidates, cost and latency are measured, the cache covers endpoint replies (a re-run
sends nothing, a cancel keeps what finished), failures are clear messages naming the endpoint, keys never show."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from curation.errors import CancelledError
from curation.jsonl import dumps_lines, read_jsonl
from training.endpoints import Endpoint, EndpointError, save_endpoints
from training.evaluation.config import EvalConfig

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "support"
KEY_ENV, KEY = "TUNEWISE_TEST_ENDPOINT_KEY", "sk-bakeoff-0123456789abcdefSECRETKEY"
SMALL = {"limit": 3, "max_new_tokens": 16}  # what the CLI run below uses (so its outputs are cached)
PROMPT = [{"role": "system", "content": "You are the support desk of Northwind Bikes. Answer in one short sentence."},
          {"role": "user", "content": "Do you ship to Canada?"},
          {"role": "assistant", "content": "Yes, we ship to Canada in 5 to 8 business days."}]

DOC = """# Care and warranty

Frames carry a lifetime warranty for the first owner; other parts are covered for two years.

Charge the battery to about 60% before storing the bike for the winter, and keep it indoors.

Returns are free within 30 days when the bike is unused and in its original box.
"""


def _project(root: Path, embedder, endpoints: list[Endpoint]) -> Path:
    """A project: curated split (4 train, 3 eval), a saved few-shot prompt, a tiny index, its endpoints.yaml."""
    from training.rag.index import build_rag_index

    records = [r for r in read_jsonl(SAMPLE / "examples.jsonl") if len(r["messages"]) == 3][:7]
    (root / "curated").mkdir(parents=True)
    (root / "curated" / "train.jsonl").write_text(dumps_lines(records[:4]))
    (root / "curated" / "eval.jsonl").write_text(dumps_lines(records[4:]))
    (root / "prompt").mkdir()
    (root / "prompt" / "messages.json").write_text(json.dumps(PROMPT))
    docs = root / "docs"
    docs.mkdir()  # a short document: short passages keep the rag prompts (and CPU generation) small
    (docs / "care.md").write_text(DOC)
    build_rag_index([docs], root / "index", embedder=embedder)
    save_endpoints(root / "endpoints.yaml", endpoints)
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory, embedder, served):
    """The project with one endpoint: the served model, priced, its key read from an environment variable."""
    endpoint = replace(served, api_key_env=KEY_ENV, price_in_per_mtok=0.1, price_out_per_mtok=0.4,
                       price_date="2026-11-30", price_source="https://example.com/pricing")
    return _project(tmp_path_factory.mktemp("endpoint-bakeoff"), embedder, [endpoint])


@pytest.fixture(scope="module")
def first(project, monkeypatch_module):
    """`tunewise eval PROJECT --candidates all --json`, with the endpoint's key set in the environment."""
    from advisor.cli import cli

    monkeypatch_module.setenv(KEY_ENV, KEY)
    result = CliRunner().invoke(cli, ["eval", str(project), "--candidates", "all", "--limit", "3",
                                      "--max-new-tokens", "16", "--json"])
    return result


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_all_includes_the_endpoints_and_they_score_like_the_same_model_in_process(first, project):
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    names = {c["name"] for c in summary["candidates"]}
    assert names == {"zero-shot", "few-shot", "rag", "prompt@served", "rag@served"}
    rows = read_jsonl(Path(summary["folder"]) / "outputs.jsonl")
    assert len(rows) == 3
    for row in rows:  # same model, same greedy decoding, same conversation: the same words
        assert row["outputs"]["prompt@served"] == row["outputs"]["few-shot"]  # the project's saved prompt
        assert row["outputs"]["rag@served"] == row["outputs"]["rag"]  # the same retrieved passages
    by_name = {c["name"]: c for c in summary["candidates"]}
    assert by_name["prompt@served"]["scores"] == by_name["few-shot"]["scores"]
    assert by_name["rag@served"]["scores"] == by_name["rag"]["scores"]
    assert "few-shot prompt" in by_name["prompt@served"]["description"]
    assert by_name["prompt@served"]["endpoint"]["name"] == "served"


def test_cost_and_latency_are_measured_side_by_side(first, project):
    summary = json.loads(first.stdout)
    by_name = {c["name"]: c["measures"] for c in summary["candidates"]}
    served, local = by_name["prompt@served"], by_name["few-shot"]
    # the server's usage counts the chat template's tokens exactly as the local tokenizer does
    assert served["tokens_in_mean"] == local["tokens_in_mean"] and served["token_basis"] == "usage"
    assert 0 < served["tokens_out_mean"] <= 16 and local["token_basis"] == "tokenizer"
    expected = (served["tokens_in_mean"] * 0.1 + served["tokens_out_mean"] * 0.4) / 1e6 * 1000
    assert served["cost_per_1000"] == pytest.approx(expected, rel=1e-4) and served["price_date"] == "2026-11-30"
    assert local["cost_per_1000"] is None  # local serving is priced by the advisor
    for m in by_name.values():
        assert 0 < m["latency_p50_s"] <= m["latency_p95_s"] and m["failures"] == 0 and m["requests"] == 3
    # local candidates have no price, so the cheapest not clearly worse is an endpoint candidate (or none)
    assert summary["cheapest"] in (None, "prompt@served", "rag@served") and "compared on quality only" in summary["cost_rule"]
    markdown = (Path(summary["folder"]) / "summary.md").read_text()
    assert "$ / 1k requests" in markdown and "latency p50/p95" in markdown and "no price" in markdown
    assert "compared on quality only" in markdown and "price of 2026-11-30 from https://example.com/pricing" in markdown


def test_a_rerun_sends_nothing(first, project, embedder, monkeypatch):
    import training.endpoints
    from advisor.project.bakeoff import run_project_bakeoff

    def refuse(*args, **kwargs):
        raise AssertionError("a re-run sent requests to the endpoint")

    monkeypatch.setattr(training.endpoints, "chat_many", refuse)
    again = run_project_bakeoff(project, EvalConfig(candidates=["prompt@served", "rag@served"], **SMALL),
                                embedder=embedder)
    assert all(c.generated == 0 and c.cached == 3 for c in again.candidates)
    first_scores = {c["name"]: c["scores"] for c in json.loads(first.stdout)["candidates"]}
    assert {c.name: {m: i.to_dict() for m, i in c.scores.items()} for c in again.candidates} == \
        {n: first_scores[n] for n in ("prompt@served", "rag@served")}
    assert again.candidate("prompt@served").measures.latency_p50_s > 0  # measured when made, kept in the cache


def test_the_key_is_never_written_or_printed(first, project):
    assert KEY not in first.output and KEY not in (first.stderr or "")
    for path in project.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_cancel_keeps_the_replies_that_finished(project, embedder):
    from advisor.project.bakeoff import run_project_bakeoff

    cancel = threading.Event()

    def progress(stage, done, total):
        if stage == "generate prompt@served" and done >= 1:
            cancel.set()

    config = EvalConfig(candidates=["prompt@served"], **{**SMALL, "max_new_tokens": 5})  # new keys: not cached yet
    with pytest.raises(CancelledError, match="re-run continues"):
        run_project_bakeoff(project, config, progress=progress, cancel=cancel, embedder=embedder)
    resumed = run_project_bakeoff(project, config, embedder=embedder)
    [result] = resumed.candidates
    assert result.cached >= 1 and result.generated == 3 - result.cached


def _failing_project(root: Path, embedder, endpoint: Endpoint) -> Path:
    root.mkdir()
    records = [r for r in read_jsonl(SAMPLE / "examples.jsonl") if len(r["messages"]) == 3][4:7]
    (root / "curated").mkdir()
    (root / "curated" / "eval.jsonl").write_text(dumps_lines(records))
    save_endpoints(root / "endpoints.yaml", [endpoint])
    return root


@pytest.mark.parametrize("scenario, words", [
    ("unauthorised", "refused the key (401"),
    ("no-model", "has no model"),
])
def test_a_fatal_failure_stops_with_one_message_naming_the_endpoint(scenario, words, status_server, tmp_path,
                                                                    embedder, monkeypatch):
    from advisor.project.bakeoff import run_project_bakeoff

    monkeypatch.setenv(KEY_ENV, KEY)
    endpoint = Endpoint(name="hosted", base_url=status_server.url(scenario), model="m", api_key_env=KEY_ENV,
                        max_retries=0, timeout_s=10)
    root = _failing_project(tmp_path / "p", embedder, endpoint)
    with pytest.raises(EndpointError) as caught:
        run_project_bakeoff(root, EvalConfig(candidates=["prompt@hosted"], **SMALL), embedder=embedder)
    message = caught.value.message
    assert "'hosted'" in message and words in message and "prompt@hosted was stopped" in message
    assert KEY not in message and KEY not in (caught.value.hint or "")


def test_an_unreachable_endpoint_fails_the_cli_with_exit_1_and_no_traceback(tmp_path, embedder, monkeypatch):
    from advisor.cli import cli
    from tests.servers import free_port

    monkeypatch.setenv(KEY_ENV, KEY)
    endpoint = Endpoint(name="gone", base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", api_key_env=KEY_ENV,
                        max_retries=0, timeout_s=5)
    root = _failing_project(tmp_path / "p", embedder, endpoint)
    result = CliRunner().invoke(cli, ["eval", str(root), "--candidates", "prompt@gone", "--limit", "3", "--json"])
    assert result.exit_code == 1, result.output
    assert "'gone'" in result.output and "unreachable" in result.output and "Traceback" not in result.output
    assert KEY not in result.output
    assert not list(root.glob("evals/*/summary.json"))


@pytest.fixture
def silent_port():
    """A real socket that accepts connections and never answers (a hung server)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


@pytest.mark.parametrize("scenario, words", [
    ("rate-limited", "rate-limiting requests (429)"),
    ("context", "longer than the model's context"),
    ("no-choices", "empty reply"),
    ("not-json", "malformed reply"),
    ("timeout", "did not answer within"),
])
def test_other_failures_are_counted_and_scored_as_empty_outputs(scenario, words, status_server, silent_port, tmp_path,
                                                                embedder):
    from advisor.project.bakeoff import run_project_bakeoff

    url = f"http://127.0.0.1:{silent_port}/v1" if scenario == "timeout" else status_server.url(scenario)
    endpoint = Endpoint(name="flaky", base_url=url, model="m", max_retries=0, timeout_s=0.5, price_in_per_mtok=1.0,
                        price_out_per_mtok=2.0, price_date="2026-11-30", price_source="https://example.com/p")
    root = _failing_project(tmp_path / "p", embedder, endpoint)
    bakeoff = run_project_bakeoff(root, EvalConfig(candidates=["prompt@flaky"], **SMALL), embedder=embedder)
    [result] = bakeoff.candidates
    assert result.measures.failures == 3 and result.generated == 0 and words in result.measures.failure
    assert "'flaky'" in result.measures.failure
    assert result.scores[bakeoff.primary].mean == 0.0  # empty outputs
    assert result.cost_per_1000 is None  # nothing measured, nothing priced
    markdown = (Path(bakeoff.folder) / "summary.md").read_text()
    assert "3 of 3 requests failed and are scored as empty outputs" in markdown
    # failures are not cached: the cache holds nothing for the endpoint
    cache = root / "evals" / "cache" / "generations.jsonl"
    assert not cache.exists() or not cache.read_text().strip()


def test_unknown_endpoint_candidates_are_usage_errors(project, embedder):
    from advisor.project.bakeoff import run_project_bakeoff
    from curation.errors import UsageError

    with pytest.raises(UsageError, match="No endpoint named 'nope'.*configured: served"):
        run_project_bakeoff(project, EvalConfig(candidates=["prompt@nope"], **SMALL), embedder=embedder)


def test_prompt_at_without_a_saved_prompt_is_zero_shot_and_says_so():
    from training.evaluation.candidates import parse_candidates

    endpoint = Endpoint(name="served", base_url="http://127.0.0.1:9/v1", model="m")
    [cand] = parse_candidates(["prompt@served"], Path("/nonexistent"), None, [endpoint], has_prompt=False)
    assert not cand.uses_prompt and "zero-shot" in cand.describe()
