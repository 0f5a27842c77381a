"""What the app shares with its screens: one generative model per adapter, loaded once across panels."""

from __future__ import annotations

from pathlib import Path

from advisor.tui.app import TunewiseApp


def test_generators_are_loaded_once_and_one_adapter_at_a_time(monkeypatch):
    loads: list = []

    def fake_load(model=None, adapter=None):
        loads.append(adapter)
        return object()

    monkeypatch.setattr("training.generate.load_generator", fake_load)
    app = TunewiseApp()
    base = app.get_generator()
    assert app.get_generator() is base and loads == [None]  # the base model is shared, not reloaded
    first = app.get_generator(Path("runs/a"))
    assert app.get_generator(Path("runs/a")) is first
    app.get_generator(Path("runs/b"))  # another adapter replaces the first, the base stays
    assert app.get_generator() is base
    assert app.get_generator(Path("runs/a")) is not first
    assert loads == [None, Path("runs/a"), Path("runs/b"), Path("runs/a")]
