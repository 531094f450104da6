"""How the dashboard writes numbers, counts, times and durations."""

from __future__ import annotations

from datetime import datetime


def duration(seconds: float | None, *, compact: bool = False) -> str:
    """Seconds as an operator reads them: 0.42 s, 12.3 s, 4 min 05 s, 2 h 03 min.
    `compact` (chart labels) writes under a second in milliseconds and one decimal below a minute."""
    if seconds is None:
        return "—"
    if seconds < 60:
        if compact:
            return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def number(value: int) -> str:
    """An integer with thousands separators (12,408)."""
    return f"{value:,}"


def plural(count: int, one: str, many: str) -> str:
    """"1 entry", "12,408 entries"."""
    return f"{count:,} {one if count == 1 else many}"


def clock(value: datetime) -> str:
    """Time of day with milliseconds, for log lines."""
    return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}"
