"""The Evaluate step's endpoints form (issue #12): add an endpoint (a key variable's NAME, never a key), see it among
the candidates as prompt@NAME, test the connection as a job (a closed port: an error naming the endpoint), remove it."""

from __future__ import annotations

import asyncio

from textual.widgets import Button, DataTable, Input, SelectionList, Static, TabbedContent

from advisor.project import create_project
from advisor.project.endpoints import project_endpoints
from advisor.tui.app import TunewiseApp
from advisor.tui.endpoint_form import endpoint_from_form, endpoint_row
from advisor.tui.screens.evaluate import EvaluateScreen
from advisor.tui.widgets.endpoints_panel import EndpointsPanel
from curation.errors import UsageError
from curation.jsonl import dumps_lines
from tests.servers import free_port


def _records(n: int, offset: int = 0) -> list[dict]:
    return [{"id": f"ex{i}", "messages": [{"role": "user", "content": f"What colour is bike {i}?"},
                                          {"role": "assistant", "content": f"Bike {i} is red."}]}
            for i in range(offset, offset + n)]


def _notices(app) -> list[str]:
    return [n.message for n in app._notifications]


def test_the_form_makes_an_endpoint_and_names_the_field_that_is_wrong():
    values = {"name": "gw", "base_url": "http://localhost:8000/v1", "model": "m", "api_key_env": "GW_KEY",
              "price_in_per_mtok": "0.15", "price_out_per_mtok": "0.6", "price_date": "2026-11-30",
              "price_source": "https://example.com/pricing"}
    endpoint = endpoint_from_form(values)
    assert (endpoint.api_key_env, endpoint.price_in_per_mtok, endpoint.price_out_per_mtok) == ("GW_KEY", 0.15, 0.6)
    assert endpoint_row(endpoint) == ("gw", "m", "http://localhost:8000/v1", "GW_KEY", "$0.15 / $0.6", "2026-11-30")
    bare = endpoint_from_form({"name": "local", "base_url": "http://localhost:8000/v1", "model": "m"})
    assert bare.api_key_env is None and not bare.priced
    for change, words in (({"price_in_per_mtok": "cheap"}, "Price in /1M 'cheap' is not a number"),
                          ({"api_key_env": "sk-" + "a1B2" * 10}, ""), ({"price_date": ""}, "")):
        try:
            endpoint_from_form(values | change)
        except UsageError as exc:
            assert words in exc.message
            assert "a1B2a1B2" not in exc.message  # a key typed by mistake is never echoed
        else:
            raise AssertionError(f"{change} was accepted")


async def test_add_test_and_remove_an_endpoint_in_the_evaluate_step(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = create_project(tmp_path / "proj")
    project.curated_dir.mkdir()
    (project.curated_dir / "train.jsonl").write_text(dumps_lines(_records(4)), encoding="utf-8")
    (project.curated_dir / "eval.jsonl").write_text(dumps_lines(_records(2, offset=4)), encoding="utf-8")
    app = TunewiseApp(project.root)
    async with app.run_test(size=(110, 40), notifications=True) as pilot:
        app.goto("evaluate")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EvaluateScreen)
        await pilot.press("alt+3")
        await pilot.pause()
        assert screen.query_one("#eval-tabs", TabbedContent).active == "tab-endpoints"
        panel = screen.query_one(EndpointsPanel)
        assert panel.query_one("#ep-test", Button).disabled  # nothing to test yet

        port = free_port()  # nothing listens there
        form = {"name": "closed", "base_url": f"http://127.0.0.1:{port}/v1", "model": "m", "api_key_env": "sk-" + "Zq9x" * 10}
        for name, value in form.items():
            panel.query_one(f"#ep-{name}", Input).value = value
        panel.query_one("#ep-add", Button).press()
        await pilot.pause()
        assert any("looks like a key" in m or "key" in m.lower() for m in _notices(app)), _notices(app)
        assert not any("Zq9xZq9x" in m for m in _notices(app)) and project_endpoints(project.root) == []

        panel.query_one("#ep-api_key_env", Input).value = "CLOSED_KEY"
        panel.query_one("#ep-add", Button).press()
        await pilot.pause()
        assert [e.name for e in project_endpoints(project.root)] == ["closed"]
        assert panel.query_one("#ep-list", DataTable).row_count == 1
        assert panel.query_one("#ep-name", Input).value == ""  # the form is cleared for the next one
        candidates = screen.query_one("#eval-candidates", SelectionList)
        names = [str(candidates.get_option_at_index(n).value) for n in range(candidates.option_count)]
        assert "prompt@closed" in names

        monkeypatch.setenv("CLOSED_KEY", "not-a-real-key")
        panel.query_one("#ep-test", Button).press()
        await pilot.pause()
        assert panel.job.running and panel.query_one("#ep-test", Button).disabled
        for _ in range(600):  # the openai client retries a refused connection twice
            await pilot.pause()
            if not panel.job.running:
                break
            await asyncio.sleep(0.05)
        shown = str(panel.query_one("#ep-result", Static).render())
        assert shown.startswith("Failed:") and "closed" in shown, shown
        assert any("closed" in m for m in _notices(app))
        assert not any("not-a-real-key" in m for m in [*_notices(app), shown])
        assert not screen.job.running  # the bake-off's own state is untouched

        panel.query_one("#ep-remove", Button).press()
        await pilot.pause()
        assert project_endpoints(project.root) == [] and panel.query_one("#ep-list", DataTable).row_count == 0
        names = [str(candidates.get_option_at_index(n).value) for n in range(candidates.option_count)]
        assert not any("@" in n for n in names)
