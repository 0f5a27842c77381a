"""File names inside a curated (or exported) split folder: written by curation, read by training and the advisor."""

from __future__ import annotations

CLEAN = "clean.jsonl"          # every kept example
REMOVED = "removed.jsonl"      # every removed example, with its reason
FLAGS = "flags.jsonl"          # conflicts, outliers and other flags for review
CLUSTERS = "clusters.json"     # topic clusters
TRAIN = "train.jsonl"          # the training split
EVAL = "eval.jsonl"            # the held-out split (no leaks from TRAIN)
REPORT_JSON = "report.json"    # curation report, machine-readable
REPORT_MD = "report.md"        # curation report, for people
SETTINGS = "settings.json"     # the settings curation ran with
PER_EXAMPLE = "per_example.jsonl"  # one row per input example: kept/removed, cluster, tokens
REJECTED = "rejected.jsonl"    # invalid input records skipped with --skip-invalid

OUTPUT_FILES = (CLEAN, REMOVED, FLAGS, CLUSTERS, TRAIN, EVAL, REPORT_JSON, REPORT_MD, SETTINGS, PER_EXAMPLE)
