"""The app never tells its user to pass a command-line option: library hints are said in the app's words."""

from __future__ import annotations

import pytest

from advisor.tui.app_wording import app_hint


@pytest.mark.parametrize(("hint", "said"), [
    ("Fix the lines above, or pass --skip-invalid to continue without them (they go to rejected.jsonl).", "ctrl+g"),
    ("Curate first (`tunewise curate DATA --out p/curated`), or pass --data EVAL.jsonl.", "Data step"),
    ("Build one: tunewise prompt build DATA --out p/prompt", "Prompt tab"),
    ("Build one: tunewise rag build DOCS --index p/index", "RAG tab"),
    ("Resume it: tunewise finetune p --name r1 --resume", "Resume it in the Fine-tune tab"),
    ("Train one first: tunewise finetune p --max-steps 50", "Train one in the Fine-tune tab"),
    ("Run `tunewise eval PROJECT` first.", "Evaluate step"),
])
def test_cli_hints_become_app_hints(hint, said):
    shown = app_hint(hint)
    assert said in shown and "--" not in shown and "tunewise " not in shown


def test_other_hints_are_kept_and_cli_tails_dropped():
    assert app_hint("Check the path.") == "Check the path."
    assert app_hint(None) is None
    assert app_hint("Run `make demo` once, or `pip install x==1`, or pass --embedder PATH.") == \
        "Run `make demo` once, or `pip install x==1`."
