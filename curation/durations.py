"""Durations for people: in words for reports (45 s, 12 min, 2.5 h), as a clock for live progress (1:02:05)."""

from __future__ import annotations


def format_duration(seconds: float | None, clock: bool = False) -> str:
    """Seconds in words a reader takes in at a glance (45 s, 12 min, 2.5 h), or with `clock` as h:mm:ss / m:ss
    (an ETA, an elapsed time); an em dash when unknown."""
    if seconds is None:
        return "—"
    if clock:
        hours, rest = divmod(int(round(seconds)), 3600)
        minutes, secs = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
