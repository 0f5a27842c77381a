"""The project layer: the only code that knows a project folder's layout, and the home of every operation on it.

Both front-ends (the `tunewise` commands and the app) call these; a Python user gets the same behaviour:

    layout         Layout: every folder and file name of a project, and which split is current
    state          ProjectState: what tunewise.yaml remembers
    folder         Project: open, create, save; paths to what the steps write
    samples        the bundled Northwind Bikes sample (package data) and a project made on it
    curation_view  CurationView: a curation's outputs read back for review
    plan           RunPlan: the steps and commands of a recommended path
    operations, one module each (plain functions; progress callback and cancel event where they run long):
    curate         curate_project
    review         set_mark, export_marked, review_groups, decide_group, accept_above, undo (the curator's
                   marks, possible duplicates decided a group at a time, undoable, and export/)
    advice         advise, advise_on (the recommendation, always with the latest bake-off)
    finetune       finetune_run, resolve_settings, resume_target (new or resumed, one set of override rules)
    rag            build_index, answering_adapter, query_index
    prompt         build_project_prompt, build_and_save, save_messages, load_saved_prompt
    bakeoff        run_project_bakeoff, latest_bakeoff, bakeoff_rows

Nothing here imports textual, click or rich.
"""

from advisor.project.advice import Advice, advise, advise_on, project_evidence
from advisor.project.bakeoff import (
    available_candidates,
    bakeoff_at,
    bakeoff_rows,
    latest_bakeoff,
    run_project_bakeoff,
)
from advisor.project.curate import curate_project
from advisor.project.curation_view import CurationView, DuplicatePair, load_curation
from advisor.project.finetune import (
    RESUME_OVERRIDES,
    FinetuneOutcome,
    check_new_run,
    finetune_run,
    project_training_data,
    resolve_settings,
    resume_target,
    saved_settings,
)
from advisor.project.folder import (
    Project,
    create_project,
    is_project,
    open_or_create,
    open_project,
    shown_path,
)
from advisor.project.layout import STATE_FILES, Layout
from advisor.project.plan import RunPlan, curated_examples, run_plan
from advisor.project.prompt import build_and_save, build_project_prompt, load_saved_prompt, save_messages
from advisor.project.rag import answering_adapter, build_index, query_index
from advisor.project.review import accept_above, decide_group, export_marked, review_groups, set_mark, undo
from advisor.project.samples import SAMPLE_DIR, create_sample_project
from advisor.project.state import STEPS, ProjectState

__all__ = [
    "RESUME_OVERRIDES", "SAMPLE_DIR", "STATE_FILES", "STEPS",
    "Advice", "CurationView", "DuplicatePair", "FinetuneOutcome", "Layout", "Project", "ProjectState", "RunPlan",
    "advise", "advise_on", "answering_adapter", "available_candidates", "bakeoff_at", "bakeoff_rows", "build_and_save",
    "build_index", "build_project_prompt", "check_new_run", "create_project", "create_sample_project", "curate_project",
    "curated_examples", "export_marked", "finetune_run", "is_project", "latest_bakeoff", "load_curation",
    "load_saved_prompt", "open_or_create", "open_project", "project_evidence", "project_training_data", "query_index",
    "resolve_settings", "resume_target", "run_plan", "run_project_bakeoff", "save_messages", "saved_settings",
    "set_mark", "shown_path", "review_groups", "decide_group", "accept_above", "undo",
]
