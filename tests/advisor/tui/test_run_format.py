"""The run screens' plain logic: ETA, the settings form, progress bookkeeping, hits, summaries, prompt edits."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from advisor.project.finetune import reply_turns
from advisor.project.prompt import messages_text, parse_messages
from advisor.tui.run_format import (
    FORM_FIELDS,
    LOAD_EMBEDDER,
    PROMPT_STAGES,
    TrainingMonitor,
    answer_text,
    build_summary,
    eta_seconds,
    form_values,
    hit_row,
    manifest_summary,
    parse_k,
    run_row,
    settings_from_form,
    shorten,
    stage_position,
    tab_for_path,
)
from curation.errors import DataError, UsageError
from training.lora_config import LoraSettings


@pytest.mark.parametrize(("path", "tab"), [("prompt", "tab-prompt"), ("rag", "tab-rag"), ("fine-tune", "tab-finetune"),
                                           ("rag+fine-tune", "tab-rag"), (None, "tab-plan"), ("other", "tab-plan")])
def test_each_path_opens_its_tab(path, tab):
    assert tab_for_path(path) == tab


def test_eta_follows_the_pace_since_the_first_step_seen():
    assert eta_seconds(0, 100.0, 4, 10, 120.0) == pytest.approx(30.0)  # 5 s a step, 6 to go
    assert eta_seconds(5, 100.0, 7, 10, 104.0) == pytest.approx(6.0)  # resumed at 5: 2 s a step, 3 to go
    assert eta_seconds(3, 100.0, 3, 10, 130.0) is None  # no step done yet
    assert eta_seconds(0, 100.0, 12, 10, 130.0) == 0.0


def test_form_round_trips_and_names_the_bad_field():
    values = form_values()
    assert set(values) == set(FORM_FIELDS) and values["learning_rate"] == "0.0002" and values["epochs"] == "3"
    assert settings_from_form(values) == LoraSettings()
    tuned = settings_from_form(values | {"rank": " 4 ", "max_steps": "2", "learning_rate": "3e-3"}, LoraSettings(max_length=128))
    assert (tuned.rank, tuned.max_steps, tuned.learning_rate, tuned.max_length) == (4, 2, 0.003, 128)
    with pytest.raises(UsageError, match="batch_size='two'.*whole number"):
        settings_from_form(values | {"batch_size": "two"})
    with pytest.raises(UsageError, match="rank='2.5'"):
        settings_from_form(values | {"rank": "2.5"})
    with pytest.raises(UsageError, match=r"rank=0 is invalid: it must be at least 1"):  # LoraSettings' own check
        settings_from_form(values | {"rank": "0"})


def test_monitor_keeps_losses_pace_and_warnings():
    monitor = TrainingMonitor()
    assert monitor.status_line() == "Not started · loss — · eval — · ETA —"
    monitor.progress("tokenize", 3, 10, 1.0)
    assert monitor.status_line().startswith("Tokenising 3/10") and monitor.eta() is None
    monitor.progress("train", 0, 4, 10.0)
    monitor.log({"kind": "eval", "eval_loss": 2.5, "step": 0})
    monitor.progress("train", 1, 4, 12.0)
    monitor.log({"kind": "train", "train_loss": 2.25, "step": 1})
    monitor.log({"kind": "summary", "train_loss": 9.0, "step": 1})  # not a step's loss
    monitor.log({"kind": "warning", "message": "No eval set"})
    assert monitor.train_losses == [(1, 2.25)] and monitor.eval_loss == 2.5 and monitor.warnings == ["No eval set"]
    assert monitor.eta() == pytest.approx(6.0)
    assert monitor.status_line() == "Step 1/4 · loss 2.250 · eval 2.500 · ETA 0:06"
    assert monitor.eval_text() == "Eval loss: step 0 2.500"
    monitor.log({"kind": "eval", "eval_loss": 2.0, "step": 1, "final": True})
    assert monitor.eval_losses == [(0, 2.5)] and monitor.eval_loss == 2.0
    assert monitor.eval_text() == "Eval loss: step 0 2.500 · final 2.000"


def test_monitor_from_metrics_keeps_rows_up_to_the_checkpoint(tmp_path):
    (tmp_path / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    (tmp_path / "checkpoints" / "checkpoint-2" / "trainer_state.json").write_text("{}")
    rows = [{"kind": "eval", "eval_loss": 3.0, "step": 0}, {"kind": "train", "train_loss": 2.0, "step": 1},
            {"kind": "train", "train_loss": 1.5, "step": 2}, {"kind": "eval", "eval_loss": 1.4, "step": 2, "final": True},
            {"kind": "train", "train_loss": 1.0, "step": 3}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"torn')
    monitor = TrainingMonitor.from_metrics(tmp_path)
    assert monitor.train_losses == [(1, 2.0), (2, 1.5)] and monitor.eval_losses == [(0, 3.0)]


def test_stage_positions_fill_one_bar():
    assert stage_position(PROMPT_STAGES, "embed", 5, 10) == ("Embedding inputs 5/10", pytest.approx(0.4))
    assert stage_position(PROMPT_STAGES, "cluster", 1, 1) == ("Clustering", pytest.approx(1.0))
    assert stage_position(PROMPT_STAGES, "other", 0, 0) == ("other", None)  # an unknown stage, no count: pulses
    assert stage_position(PROMPT_STAGES, LOAD_EMBEDDER, 0, 1) == ("Loading the embedding model", None)
    assert stage_position(PROMPT_STAGES, "other", 2, 4) == ("other 2/4", pytest.approx(0.5))


def test_the_embedder_loading_stage_is_the_librarys():
    from curation.embed import LOAD_STAGE

    assert LOAD_EMBEDDER == LOAD_STAGE


def test_reply_turns_drop_the_last_answer():
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert reply_turns(messages) == messages[:2]


def test_rows_and_texts():
    run = SimpleNamespace(active=True, name="r1", status="completed", eval_loss=1.23456, created="2025-01-02T03:04:05+00:00")
    assert run_row(run) == ("●", "r1", "completed", "1.235", "2025-01-02 03:04:05")
    hit = SimpleNamespace(rank=1, score=0.81234, source="a.md", heading="")
    assert hit_row(hit) == ("1", "0.8123", "a.md", "—")
    assert shorten("a  long\nline of text", 10) == "a long li…"
    with pytest.raises(UsageError, match="k='0'"):
        parse_k("0")
    assert parse_k(" 7 ") == 7


def test_build_summary_lists_counts_and_skipped_files():
    report = {"documents": 2, "chunks": 5, "index_type": "flat", "embedded_chunks": 3, "reused_chunks": 2,
              "added": ["b.md"], "changed": [], "removed": [], "skipped": [{"path": "x.bin", "reason": "unsupported file type .bin"}],
              "full_rebuild_reason": None, "seconds": {"total": 1.234}}
    text = build_summary(report)
    assert "2 document(s) into 5 chunk(s) (flat): 3 embedded, 2 reused." in text
    assert "1 added" in text and "x.bin: unsupported file type .bin" in text and "1.2 s" in text
    manifest = {"documents": {"a.md": {"chunks": 2}, "b.md": {"chunks": 3}}, "index": {"type": "flat"}}
    assert manifest_summary(manifest).startswith("Index ready: 2 document(s), 5 chunk(s) (flat)")


def test_answer_text_lists_citations():
    citation = SimpleNamespace(number=1, source="a.md", heading="Returns", inferred=True)
    answer = SimpleNamespace(text="30 days [1].", citations=[citation], invalid_citations=[4])
    assert answer_text(answer) == "30 days [1].\n\n[1] a.md › Returns (attributed)\nCited sources that do not exist: [4]"


def test_parse_messages_uses_load_prompts_rules():
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert parse_messages(messages_text(messages)) == messages
    with pytest.raises(DataError, match="The edited prompt is not valid JSON"):
        parse_messages('[{"role": "system",')
    with pytest.raises(DataError, match=r"not a list of chat messages"):
        parse_messages('[{"role": "robot", "content": "x"}]')
    with pytest.raises(DataError, match="no messages"):
        parse_messages("[]")
