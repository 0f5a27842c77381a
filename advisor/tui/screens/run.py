"""Step 5: carry out the chosen path in the app (fine-tune, RAG, prompt), or copy the commands that do it."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import Static, TabbedContent, TabPane

from advisor.project import RunPlan, advise, run_plan
from advisor.tui.run_format import tab_for_path
from advisor.tui.screens.base import PaletteCommand, StepScreen, tab_bindings
from advisor.tui.widgets.finetune_panel import FinetunePanel
from advisor.tui.widgets.prompt_panel import PromptPanel
from advisor.tui.widgets.rag_panel import RagPanel
from curation.errors import TunewiseError

HANDOVER = "These commands run in your terminal (quit with ctrl+q, paste, run); results land in the project folder."
TABS = {"tab-plan": "Plan", "tab-finetune": "Fine-tune", "tab-rag": "RAG", "tab-prompt": "Prompt"}
PANELS = {"tab-finetune": "#finetune", "tab-rag": "#rag", "tab-prompt": "#prompt"}


class RunScreen(StepScreen[None]):
    """The plan for the recommended path (given, or worked out again from the project on resume), and a tab that
    runs each path here; the recommended path's tab is open first."""

    STEP = "run"
    BINDINGS = [
        Binding("c", "copy", "Copy command"),
        Binding("ctrl+r", "start", "Start"),
        Binding("escape", "stop", "Stop"),
        # The open tab's other actions: the footer shows those of the open tab only.
        Binding("ctrl+t", "panel('resume')", "Resume"),
        Binding("ctrl+t", "panel('ask')", "Ask"),
        Binding("ctrl+t", "panel('try')", "Try"),
        Binding("ctrl+f", "panel('search')", "Search"),
        Binding("ctrl+o", "panel('activate')", "Make active"),
        Binding("ctrl+s", "panel('save')", "Save"),
        Binding("ctrl+b", "back", "Back"),
        Binding("ctrl+n", "next", "Evaluate"),
        *tab_bindings(TABS),
    ]

    def __init__(self, project, path: str | None = None, models=None) -> None:
        super().__init__(project, models)
        self.path = path
        self.plan: RunPlan | None = None

    def body(self) -> ComposeResult:
        with TabbedContent(id="run-tabs"):
            with TabPane(TABS["tab-plan"], id="tab-plan"):
                with VerticalScroll(id="run"):
                    yield Static("", id="run-plan")
                    yield Static("", id="run-command")
                    yield Static("", id="run-notes")
            with TabPane(TABS["tab-finetune"], id="tab-finetune"):
                yield FinetunePanel(self.project, self.models, id="finetune")
            with TabPane(TABS["tab-rag"], id="tab-rag"):
                yield RagPanel(self.project, self.models, id="rag")
            with TabPane(TABS["tab-prompt"], id="tab-prompt"):
                yield PromptPanel(self.project, self.models, id="prompt")

    def on_mount(self) -> None:
        from advisor.recommend import PATH_LABELS

        try:
            if self.path is None:
                self.path = self._recommended_path()
            self.plan = run_plan(self.project, self.path)
        except TunewiseError as exc:
            self.query_one("#run-plan", Static).update(Text(f"Nothing to run yet: {exc.message}"))
            self.report(exc)
            return
        self.query_one("#run-tabs", TabbedContent).active = tab_for_path(self.path)
        plan = Text()
        plan.append("Recommended: ", style="bold")
        plan.append(PATH_LABELS.get(self.path, self.path), style="bold reverse")
        plan.append("\n\nWhat will run\n", style="bold underline")
        for n, step in enumerate(self.plan.steps, 1):
            plan.append(f" {n}. {step}\n")
        plan.append("\nCommand" + ("s" if len(self.plan.commands) > 1 else "") + " (c copies)", style="bold underline")
        self.query_one("#run-plan", Static).update(plan)
        self.query_one("#run-command", Static).update(Text(self.plan.script))
        notes = [*self.plan.notes, "The Fine-tune, RAG and Prompt tabs run these steps here.", HANDOVER]
        self.query_one("#run-notes", Static).update(Text("\n".join(notes)))

    def _recommended_path(self) -> str:
        """The path `tunewise advise` gives: the project's answers, curation and latest bake-off."""
        return advise(self.project).path

    def active_panel(self):
        """The panel of the open tab (None on the plan)."""
        selector = PANELS.get(self.query_one("#run-tabs", TabbedContent).active)
        return self.query_one(selector) if selector else None

    def action_start(self) -> None:
        """Start the open tab's job: train, build the index, or build the prompt."""
        panel = self.active_panel()
        if panel is None:
            self.notify("Open the Fine-tune, RAG or Prompt tab to run that path here.", title="Run", markup=False)
            return
        panel.action_start()

    def action_stop(self) -> None:
        """Stop the open tab's job (training stops with a checkpoint)."""
        panel = self.active_panel()
        if panel is not None:
            panel.action_stop()

    def action_panel(self, action: str) -> None:
        """Run one of the open tab's own actions (resume, ask, try, search, make active, save)."""
        panel = self.active_panel()
        if panel is not None and hasattr(panel, f"action_{action}"):
            getattr(panel, f"action_{action}")()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A tab's own action shows (and works) only while that tab is open."""
        if action == "panel":
            try:
                panel = self.active_panel()
            except NoMatches:  # not composed yet
                return False
            return panel is not None and hasattr(panel, f"action_{parameters[0]}")
        return True

    @on(TabbedContent.TabActivated, "#run-tabs")
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    def action_show_tab(self, pane: str) -> None:
        """Open a tab."""
        self.query_one("#run-tabs", TabbedContent).active = pane

    def action_copy(self) -> None:
        """Copy the command(s) to the clipboard (through the terminal)."""
        if self.plan is None:
            return
        self.app.copy_to_clipboard(self.plan.script)
        self.notify("Command copied to the clipboard.", title="Run", markup=False)

    def action_next(self) -> None:
        """On to the bake-off: measure the paths against each other on the held-out examples."""
        self.go("evaluate")

    def action_back(self) -> None:
        self.go("recommendation")

    def palette_commands(self):
        yield PaletteCommand("Copy run command", "Copy the command for the recommended path to the clipboard", self.action_copy)
        yield PaletteCommand("Start training", "Fine-tune a LoRA adapter with the form's settings",
                             lambda: self._on_tab("tab-finetune", "start"))
        yield PaletteCommand("Stop training", "Checkpoint and stop the running training", lambda: self._on_tab("tab-finetune", "stop"))
        yield PaletteCommand("Build RAG index", "Index the documents folder", lambda: self._on_tab("tab-rag", "start"))
        yield PaletteCommand("Build prompt", "Build the few-shot prompt from the train split", lambda: self._on_tab("tab-prompt", "start"))
        for n, (pane, title) in enumerate(TABS.items(), 1):
            yield PaletteCommand(f"Show {title}", f"Open the {title} tab (alt+{n})", lambda pane=pane: self._on_tab(pane))

    def _on_tab(self, pane: str, action: str | None = None) -> None:
        """Open a tab, then start or stop its job."""
        self.query_one("#run-tabs", TabbedContent).active = pane
        if action is not None:
            getattr(self.active_panel(), f"action_{action}")()
