"""What the app shares with its screens: one generative model per adapter, loaded once across panels."""

from __future__ import annotations

from pathlib import Path

from advisor.tui.models import SharedModels


def test_generators_are_loaded_once_and_one_adapter_at_a_time(monkeypatch):
    loads: list = []

    def fake_load(model=None, adapter=None):
        loads.append(adapter)
        return object()

    monkeypatch.setattr("training.generate.load_generator", fake_load)
    models = SharedModels()
    base = models.generator()
    assert models.generator() is base and loads == [None]  # the base model is shared, not reloaded
    first = models.generator(Path("runs/a"))
    assert models.generator(Path("runs/a")) is first
    models.generator(Path("runs/b"))  # another adapter replaces the first, the base stays
    assert models.generator() is base
    assert models.generator(Path("runs/a")) is not first
    assert loads == [None, Path("runs/a"), Path("runs/b"), Path("runs/a")]
