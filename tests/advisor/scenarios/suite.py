"""The published scenarios (published.yaml): loading them and scoring the advisor against them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.interview import Answers
from advisor.reasons import TOPICS
from curation.safe_read import read_yaml_file

SCENARIOS_FILE = Path(__file__).parent / "published.yaml"
VERDICTS = ("prompt", "rag", "fine-tune", "rag+fine-tune", "prompt→fine-tune", "rag→rag+fine-tune")


@dataclass(frozen=True)
class Scenario:
    """One published case: where it is from, the situation, the answers, and the source's verdict and main reason."""

    id: str
    source: str
    situation: str
    answers: dict[str, Any]
    verdict: str
    reason: str
    why: str
    known_miss: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def interview(self) -> Answers:
        """The answers as the interview holds them (validated)."""
        return Answers.from_dict(self.answers)


def load_scenarios(path: Path = SCENARIOS_FILE) -> list[Scenario]:
    """Every scenario, checked: a source URL, a known verdict and reason topic, unique ids."""
    rows = read_yaml_file(path, "scenario file")
    out = []
    for row in rows:
        scenario = Scenario(**row)
        assert scenario.source.startswith("https://"), scenario.id
        assert scenario.verdict in VERDICTS, (scenario.id, scenario.verdict)
        assert scenario.reason in TOPICS, (scenario.id, scenario.reason)
        out.append(scenario)
    assert len({s.id for s in out}) == len(out), "duplicate scenario ids"
    return out
