"""Operation: the recommendation for a project, always resting on its latest bake-off.

`tunewise advise`, the app's recommendation step and its run step all get their path from `advise_on`, so a
bake-off that overturned the interview's verdict is never ignored by one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.project.bakeoff import latest_bakeoff
from advisor.project.folder import Project

if TYPE_CHECKING:
    from advisor.evidence import Evidence
    from advisor.interview import Answers
    from advisor.recommend import Prices, Recommendation


@dataclass
class Advice:
    """A recommendation with what it rests on: the answers, the data's evidence and the bake-off (each may be empty)."""

    answers: Answers
    evidence: Evidence | None
    bakeoff: Any
    recommendation: Recommendation

    @property
    def path(self) -> str:
        """The recommended path: prompt, rag, fine-tune or rag+fine-tune."""
        return self.recommendation.path


def advise_on(answers: Answers, evidence: Evidence | None = None, bakeoff: Any = None, prices: Prices | None = None
              ) -> Advice:
    """The recommendation from interview answers, the data's evidence and a bake-off (the one rule for every caller)."""
    from advisor.recommend import recommend

    return Advice(answers, evidence, bakeoff, recommend(answers, evidence, prices, bakeoff=bakeoff))


def project_prices(root: str | Path) -> Prices:
    """The packaged price tables, with the project's priced endpoints (the model it already pays for) as reference and
    the training speed its last run measured on this machine."""
    from dataclasses import replace

    from advisor.cost_reasons import prices_with_endpoints
    from advisor.project.endpoints import project_endpoints
    from advisor.recommend import default_prices
    from training.runs import measured_speed

    prices = replace(default_prices(), speed=measured_speed(root))
    return prices_with_endpoints(prices, project_endpoints(root))


def project_evidence(project: Project) -> Evidence | None:
    """What the project's last curation measured (None before the first)."""
    from advisor.evidence import evidence_from_curation_dir

    return evidence_from_curation_dir(project.curated_dir) if project.is_curated else None


def advise(project: Project) -> Advice:
    """The project's recommendation: its saved answers, its curation and its latest bake-off."""
    return advise_on(project.load_answers(), project_evidence(project), latest_bakeoff(project), project_prices(project.root))
