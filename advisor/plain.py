"""Numbers in words a product manager reads at a glance: money, counts and durations, large ones shortened."""

from __future__ import annotations

import math

DAY = 86_400.0


def count(n: float) -> str:
    """1234 -> '1,234'; 2_500_000 -> '2.5 million'; 3e9 -> '3 billion'."""
    if not math.isfinite(n):
        return "an unknown number of"
    for size, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if abs(n) >= size:
            return f"{n / size:,.1f}".rstrip("0").rstrip(".") + f" {word}"
    return f"{n:,.0f}"


def money(value: float | None, currency: str = "USD") -> str:
    """$0.0012, $3.40, $12,345, $1.2 million, $2.7 billion; 'n/a' when unknown."""
    if value is None or not math.isfinite(value):
        return "n/a"
    sign = "$" if currency == "USD" else f"{currency} "
    if abs(value) >= 1e6:
        return sign + count(value)
    if abs(value) >= 1000:
        return f"{sign}{value:,.0f}"
    if abs(value) >= 0.1 or value == 0:
        return f"{sign}{value:,.2f}"
    return f"{sign}{value:.2g}"


def duration(seconds: float | None) -> str:
    """Seconds as 'about 40 seconds', '12 minutes', '3 hours', '5 days', '4 months', '3 years'."""
    if seconds is None or not math.isfinite(seconds):
        return "an unknown time"
    if seconds < 90:
        return f"about {max(seconds, 1):.0f} seconds"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} minutes"
    if seconds < 48 * 3600:
        return f"about {seconds / 3600:.0f} hours"
    return days(seconds / DAY)


def days(d: float | None) -> str:
    """A number of days as 'about 12 days', 'about 5 months', 'about 3 years' ('more than a century' beyond)."""
    if d is None or not math.isfinite(d):
        return "an unknown time"
    if d < 1:
        return "less than a day"
    if d < 60:
        return f"about {d:.0f} days"
    if d < 730:
        return f"about {d / 30.4:.0f} months"
    if d < 36_500:
        return f"about {d / 365:.0f} years"
    return "more than a century"


def model_name(name: object, default: str = "a small open model") -> str:
    """A model's name without the technical note in brackets: 'SmolLM2-135M-Instruct (LoRA r=8, …)' -> 'SmolLM2-135M-Instruct'."""
    text = str(name or "").split(" (")[0].strip()
    return text or default
