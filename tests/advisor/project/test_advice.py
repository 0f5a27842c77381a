"""One recommendation rule: the project layer's `advise` and `tunewise advise` rest on the same latest bake-off."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from advisor.commands.advise import advise as advise_command
from advisor.interview import Answers
from advisor.project import advise, create_project, project_evidence
from advisor.recommend import recommend
from tests.advisor.test_bakeoff_verdict import bakeoff
from tests.advisor.test_recommend import EXTRACTION, EXTRACTION_DATA


def _project_with_an_overturning_bakeoff(tmp_path):
    """A project whose interview says fine-tune and whose latest bake-off (a tie with the prompt) says prompt."""
    project = create_project(tmp_path / "p")
    project.save_answers(Answers.from_dict(EXTRACTION))
    project.layout.curated.mkdir()
    project.layout.curation_report.write_text(json.dumps(EXTRACTION_DATA))
    tie = bakeoff({"few-shot": 0.60, "lora:r1": 0.62, "zero-shot": 0.40},
                  {("lora:r1", "few-shot"): (-0.01, 0.05), ("few-shot", "zero-shot"): (0.1, 0.3), ("lora:r1", "zero-shot"): (0.1, 0.3)})
    for stamp, summary in (("2026-11-01T00-00-00", bakeoff({"few-shot": 0.5, "lora:r1": 0.7}, {("lora:r1", "few-shot"): (0.12, 0.28)})),
                           ("2026-11-24T00-00-00", tie)):
        folder = project.layout.evals / stamp
        folder.mkdir(parents=True)
        summary.folder = str(folder)
        (folder / "summary.json").write_text(json.dumps(summary.to_dict()))
    return project


def test_the_project_layer_and_the_cli_give_the_path_the_latest_bakeoff_says(tmp_path):
    project = _project_with_an_overturning_bakeoff(tmp_path)
    assert recommend(project.load_answers(), project_evidence(project)).path == "fine-tune"  # the interview alone
    advice = advise(project)
    assert advice.bakeoff is not None and advice.bakeoff.folder.endswith("2026-11-24T00-00-00")  # the latest one
    assert advice.path == "prompt" and advice.recommendation.overturned == "fine-tune"
    result = CliRunner().invoke(advise_command, ["--answers", str(project.answers_path), "--data", str(project.curated_dir),
                                                 "--no-ask", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["recommendation"]["path"] == advice.path == "prompt"


def test_without_a_bakeoff_the_interview_decides(tmp_path):
    project = create_project(tmp_path / "p")
    project.save_answers(Answers.from_dict(EXTRACTION))
    project.layout.curated.mkdir()
    project.layout.curation_report.write_text(json.dumps(EXTRACTION_DATA))
    advice = advise(project)
    assert advice.bakeoff is None and advice.path == "fine-tune" and advice.recommendation.overturned is None


def test_a_priced_endpoint_is_the_reference_the_verdict_quotes_in_the_app_and_the_cli(tmp_path):
    from advisor.project.endpoints import add_project_endpoint
    from training.endpoints import Endpoint

    project = _project_with_an_overturning_bakeoff(tmp_path)
    add_project_endpoint(project.root, Endpoint(name="ours", base_url="http://127.0.0.1:9/v1", model="our-hosted-model",
                                                price_in_per_mtok=5.0, price_out_per_mtok=15.0, price_date="2026-12-01",
                                                price_source="https://example.com/our-contract"))
    costs = advise(project).recommendation.costs
    assert costs["reference"]["model"] == "our-hosted-model" and costs["reference"]["provider"] == "your endpoint ours"
    assert "https://example.com/our-contract" in costs["reference"]["source"]
    result = CliRunner().invoke(advise_command, ["--answers", str(project.answers_path), "--data", str(project.curated_dir),
                                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["recommendation"]["costs"]["reference"]["model"] == "our-hosted-model"


def test_the_training_time_uses_the_speed_a_past_run_measured(tmp_path):
    from dataclasses import replace

    from advisor.recommend import default_prices
    from training.runs import MeasuredSpeed

    project = _project_with_an_overturning_bakeoff(tmp_path)
    answers, evidence = project.load_answers(), project_evidence(project)
    assumed = recommend(answers, evidence).costs["training"]["local"]
    measured = recommend(answers, evidence, replace(default_prices(), speed=MeasuredSpeed(20.0, "r1", 3.0))
                         ).costs["training"]["local"]
    assert assumed["speed_basis"] == "assumed" and measured["speed_basis"] == "measured"
    assert measured["tokens_per_second"] == 20.0 and "run r1" in measured["measured"]
    assert measured["seconds"] == pytest.approx(assumed["seconds"] * assumed["tokens_per_second"] / 20.0, rel=0.01)
