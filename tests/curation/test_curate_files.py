"""Property: whatever bytes and records come in, the job never crashes and kept + removed = valid inputs."""

from __future__ import annotations

import json
import string

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from curation.curate_files import run_curation
from curation.errors import DataError

words = st.text(alphabet=string.ascii_letters + " 0123456789?!.,'é", min_size=1, max_size=40).filter(str.strip)
chat = st.builds(
    lambda q, a, system: json.dumps(
        {"messages": ([{"role": "system", "content": system}] if system else [])
         + [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
    ),
    words, words, st.one_of(st.none(), st.just("You are a helpful, concise assistant."))
)
garbage = st.binary(max_size=60).map(lambda b: b.decode("latin-1"))
lines = st.lists(st.one_of(chat, chat, garbage), min_size=1, max_size=14)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(lines=lines, duplicate=st.booleans())
@example(lines=["\x00\x85", '{"messages": [{"role": "user", "content": "0"}, {"role": "assistant", "content": "0"}]}'], duplicate=False)
def test_never_crashes_and_nothing_is_lost(tmp_path_factory, embedder, lines, duplicate):
    folder = tmp_path_factory.mktemp("prop")
    data = folder / "data.jsonl"
    if duplicate:
        lines = lines + lines[:2]
    data.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
    try:
        job = run_curation([data], folder / "out", skip_invalid=True, embedder=embedder)
    except DataError:
        return  # no valid example at all: a clear error, nothing written
    out = job.out_dir
    def ids(name):
        return [json.loads(line)["id"] for line in (out / name).read_text().splitlines()]
    valid = [e.id for e in job.loaded.examples]
    assert sorted(ids("clean.jsonl") + ids("removed.jsonl")) == sorted(valid)
    assert sorted(ids("train.jsonl") + ids("eval.jsonl")) == sorted(ids("clean.jsonl"))
    rejected = (out / "rejected.jsonl").read_text().splitlines() if (out / "rejected.jsonl").exists() else []
    assert len(valid) + len(rejected) == job.loaded.n_records
