"""Overview page: executions and files per day, failure rate and slowest workflows as inline SVG."""

from __future__ import annotations

import math
from datetime import date

from flask import Blueprint, current_app, render_template
from flask_login import login_required

from unstract.services import overview, retention, usage
from unstract.services.run_status import COMPLETED_WITH_ERRORS, outcome_label
from unstract.web.context import current_requester, is_htmx
from unstract.web.formatting import duration
from unstract.web.upcoming_section import upcoming_runs

bp = Blueprint("web_overview", __name__)

# Geometry of the charts in SVG user units; an SVG scales to its container, so a chart drawn for a wide
# card gets a wide viewBox and its 11-unit text stays about 11 px on a laptop screen.
WIDE, NARROW, HEIGHT = 1080, 520, 230
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 10, 26
EXEC_SERIES = ("COMPLETED", COMPLETED_WITH_ERRORS, "ERROR", "STOPPED", "EXECUTING", "PENDING")
FILE_SERIES = ("COMPLETED", "ERROR")
TOKEN_SERIES = ("PROMPT", "COMPLETION")


def nice_scale(maximum: float, ticks: int = 4) -> tuple[float, float]:
    """A round top value and tick step (1, 2, 2.5 or 5 times a power of ten) covering `maximum`."""
    if maximum <= 0:
        return float(ticks), 1.0
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    step = max(step, 1.0)
    return step * math.ceil(maximum / step), step


def short_day(day: date) -> str:
    return f"{day:%b} {day.day}"


def _frame(days: list[date], top: float, step: float, width: int, fmt=lambda v: f"{v:g}") -> dict:
    """Axes shared by the day charts: y gridlines with labels, x labels once a week (ending today)."""
    plot_w, plot_h = width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(days)
    grid = [{"y": TOP + plot_h - plot_h * (k * step) / top, "label": fmt(k * step)}
            for k in range(int(round(top / step)) + 1)]
    labels = [{"x": LEFT + slot * (i + 0.5), "label": short_day(day)}
              for i, day in enumerate(days) if (len(days) - 1 - i) % 7 == 0]
    return {"width": width, "height": HEIGHT, "left": LEFT, "right": width - RIGHT, "top": TOP,
            "bottom": TOP + plot_h, "slot": slot, "grid": grid, "labels": labels}


def compact_number(value: float) -> str:
    """An axis label: 950, 12k, 1.5M."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def stacked_bars(rows: list[dict], series: tuple[str, ...], width: int = WIDE, fmt=compact_number) -> dict:
    """Bars per day, one segment per series (bottom to top in `series` order)."""
    top, step = nice_scale(max((row["total"] for row in rows), default=0))
    frame = _frame([row["day"] for row in rows], top, step, width, fmt)
    plot_h, bar_w = frame["bottom"] - TOP, frame["slot"] * 0.68
    bars = []
    for i, row in enumerate(rows):
        x, y = LEFT + frame["slot"] * i + (frame["slot"] - bar_w) / 2, frame["bottom"]
        for name in series:
            count = row["counts"].get(name, 0)
            if count:
                height = plot_h * count / top
                y -= height
                bars.append({"x": x, "y": y, "w": bar_w, "h": height, "series": name.lower(),
                             "title": f"{row['day'].isoformat()} · {outcome_label(name)}: {count}"})
    return {**frame, "bars": bars}


def rate_line(rows: list[dict], width: int = NARROW) -> dict:
    """Daily failure rate (0–100 %) as line segments; days without finished runs break the line."""
    frame = _frame([row["day"] for row in rows], 100.0, 25.0, width, fmt=lambda v: f"{v:g}%")
    plot_h = frame["bottom"] - TOP
    segments, points, current = [], [], []
    for i, row in enumerate(rows):
        rate = row["failure_rate"]
        if rate is None:
            current = []
            continue
        point = {"x": LEFT + frame["slot"] * (i + 0.5), "y": frame["bottom"] - plot_h * rate,
                 "title": f"{row['day'].isoformat()} · {rate:.0%} of finished runs failed"}
        if not current:
            segments.append(current)
        current.append(point)
        points.append(point)
    paths = [" ".join(f"{p['x']:.1f},{p['y']:.1f}" for p in segment) for segment in segments]
    return {**frame, "points": points, "paths": paths}


def slowest_bars(rows: list[dict]) -> dict:
    """Horizontal bars of average duration, longest first."""
    top, step = nice_scale(max((row["avg_seconds"] for row in rows), default=0))
    label_w, width, bar_h, gap = 220, WIDE, 22, 10
    plot_w = width - label_w - 70
    bars = [{"y": i * (bar_h + gap), "w": max(plot_w * row["avg_seconds"] / top, 1), "h": bar_h,
             "name": row["name"], "short": row["name"] if len(row["name"]) <= 32 else row["name"][:31] + "…",
             "value": format_seconds(row["avg_seconds"]), "row": row} for i, row in enumerate(rows)]
    return {"width": width, "height": max(len(rows) * (bar_h + gap), bar_h), "label_w": label_w, "bars": bars}


def format_seconds(seconds: float) -> str:
    """A chart label: 850 ms, 12.4 s, 3 min 05 s, 1 h 02 min (the dashboard's durations, compact)."""
    return duration(seconds, compact=True)


def token_rows(rows: list[dict]) -> list[dict]:
    """The usage rows in the shape of the stacked bars: prompt and completion tokens per day."""
    return [{"day": row["day"], "total": row["total_tokens"],
             "counts": {"PROMPT": row["prompt_tokens"], "COMPLETION": row["completion_tokens"]}} for row in rows]


def _charts(data: dict, llm: dict) -> dict:
    return {"tokens": stacked_bars(token_rows(llm["rows"]), TOKEN_SERIES),
            "executions": stacked_bars(data["executions"], EXEC_SERIES),
            "files": stacked_bars(data["files"], FILE_SERIES, NARROW),
            "failure": rate_line(data["executions"]), "slowest": slowest_bars(data["slowest"])}


@bp.get("/overview")
@login_required
def index():
    """The last 30 days of the current org at a glance; the charts alone for htmx (refresh)."""
    who = current_requester()
    data = overview.summary(who)
    llm = usage.per_day(who, data["days"])
    template = "overview/_charts.html" if is_htmx() else "overview/index.html"
    sizes = retention.table_sizes() if who.is_admin and not is_htmx() else None
    return render_template(template, who=who, data=data, charts=_charts(data, llm), format_seconds=format_seconds,
                           exec_series=EXEC_SERIES, file_series=FILE_SERIES, outcome_label=outcome_label,
                           llm=llm, token_series=TOKEN_SERIES, table_sizes=sizes,
                           settings=current_app.config["UNSTRACT_SETTINGS"],
                           upcoming=None if is_htmx() else upcoming_runs(who))
