"""Advisor benchmark: agreement with published cases and sensitivity to one honest judgement call.

Reads tests/advisor/scenarios/published.yaml (50 cases, each with its source URL, the situation in the user's words,
the answers, and the source's verdict and main reason) and prints:
  1. agreement: verdict, top reason, both — and every case the rules miss, with the recorded why;
  2. sensitivity: each ordered answer moved to its neighbouring option; how often the verdict moves, how often it
     jumps two steps (prompting ↔ fine-tuning), and whether "what would change the verdict" says why each time.

Run:  .venv/bin/python bench/advise.py [--json results.json]   (pure arithmetic: a few seconds, no model)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    """Print agreement and sensitivity; optionally write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", dest="json_out", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    from advisor.sensitivity import flips, unexplained
    from tests.advisor.scenarios.suite import load_scenarios

    scenarios = load_scenarios()
    rows, all_flips, unexplained_flips = [], [], []
    for s in scenarios:
        rec, found = flips(s.interview())
        rows.append({"id": s.id, "expected": s.verdict, "got": rec.verdict, "reason_expected": s.reason,
                     "reason_got": rec.top_topic, "known_miss": s.known_miss, "source": s.source})
        all_flips += [(s.id, f) for f in found]
        unexplained_flips += [(s.id, f) for f in unexplained(rec, found)]
    n = len(rows)
    verdict_ok = sum(r["expected"] == r["got"] for r in rows)
    reason_ok = sum(r["reason_expected"] == r["reason_got"] for r in rows)
    both_ok = sum(r["expected"] == r["got"] and r["reason_expected"] == r["reason_got"] for r in rows)
    print(f"Published cases: {n} from {len({r['source'] for r in rows})} sources; "
          f"verdicts {dict(Counter(r['expected'] for r in rows))}")
    print(f"  verdict agrees:     {verdict_ok}/{n} ({100 * verdict_ok / n:.0f}%)")
    print(f"  top reason agrees:  {reason_ok}/{n} ({100 * reason_ok / n:.0f}%)")
    print(f"  both agree:         {both_ok}/{n} ({100 * both_ok / n:.0f}%)")
    misses = [r for r in rows if r["expected"] != r["got"] or r["reason_expected"] != r["reason_got"]]
    for r in misses:
        print(f"  MISS {r['id']}: expected {r['expected']} / {r['reason_expected']}, got {r['got']} / {r['reason_got']}")
        if r["known_miss"]:
            print(f"       why: {' '.join(r['known_miss'].split())}")

    moved = [(i, f) for i, f in all_flips if f.verdict_after != f.verdict_before]
    jumps = [(i, f) for i, f in all_flips if f.jumps]
    print(f"\nSensitivity: {len(all_flips)} one-step changes of an ordered answer across {n} cases")
    print(f"  verdict moved:                      {len(moved)} ({100 * len(moved) / max(len(all_flips), 1):.0f}%)")
    print(f"  jumped two steps (prompt ↔ fine-tune): {len(jumps)} in {len({i for i, _ in jumps})} cases")
    print(f"  jumps not explained in 'what would change the verdict': {len(unexplained_flips)}")
    for case, f in jumps:
        print(f"    {case}: {f.qid} {f.before} → {f.after}: {f.verdict_before} → {f.verdict_after}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({
            "cases": n, "verdict_agrees": verdict_ok, "reason_agrees": reason_ok, "both_agree": both_ok, "rows": rows,
            "flips": len(all_flips), "moved": len(moved), "jumps": len(jumps), "unexplained": len(unexplained_flips),
        }, indent=2, ensure_ascii=False) + "\n")
    return 0 if not unexplained_flips else 1


if __name__ == "__main__":
    raise SystemExit(main())
