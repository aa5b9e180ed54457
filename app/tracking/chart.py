"""A stacked bar chart of cards reported per day (or week), drawn as SVG on the server.

Pure geometry: the template only prints the numbers computed here. Colours come from CSS classes
(`chart-s0` … `chart-s7` in app.css), so the CSP needs no inline style.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Sequence

WIDTH, HEIGHT = 960, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 30, 14, 36
MAX_DAILY_BARS = 92  # longer ranges are drawn per week
MAX_SPAN_DAYS = 731
SERIES_CLASSES = 8


@dataclass
class Segment:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass
class Series:
    label: str
    css: str
    total: int


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM
    per: str = "day"
    start: date | None = None
    end: date | None = None
    segments: list[Segment] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    table: list[tuple[str, list[int], int]] = field(default_factory=list)
    total: int = 0
    peak: tuple[str, int] | None = None

    @property
    def empty(self) -> bool:
        return self.total == 0


def nice_ceiling(value: int) -> tuple[int, int]:
    """A round axis maximum ≥ value and its tick step (1, 2, 2.5 or 5 × 10ⁿ; at most 5 steps)."""
    if value <= 0:
        return 10, 2
    power = 0
    while True:
        for base in ((1, 2, 5) if power == 0 else (1, 2, 2.5, 5)):
            step = int(base * 10 ** power)
            if math.ceil(value / step) <= 5:
                return math.ceil(value / step) * step, step
        power += 1


def _label(day: date) -> str:
    return f"{day.day} {day.strftime('%b')}"


def date_span(per_day: dict[date, Any], start: date, end: date) -> tuple[date, date]:
    """Stretch [start, end] to cover the data, then keep it at most two years long (around the data)."""
    if per_day:
        start, end = min(start, min(per_day)), max(end, max(per_day))
    if (end - start).days > MAX_SPAN_DAYS and per_day:
        start, end = max(start, min(per_day)), min(end, max(per_day))
    if (end - start).days > MAX_SPAN_DAYS:
        start = end - timedelta(days=MAX_SPAN_DAYS)
    return start, end


def build(per_day: dict[date, dict[int, int]], series: Sequence[tuple[int, str]], start: date, end: date) -> Chart:
    """Lay out the bars. `series` is [(case id, label)] in stacking order; `per_day` maps day → case id → cards."""
    start, end = date_span(per_day, start, end)
    days = (end - start).days + 1
    weekly = days > MAX_DAILY_BARS
    if weekly:
        first = start - timedelta(days=start.weekday())
        buckets = [first + timedelta(weeks=i) for i in range((end - first).days // 7 + 1)]
    else:
        buckets = [start + timedelta(days=i) for i in range(days)]
    index = {b: i for i, b in enumerate(buckets)}
    values = [[0] * len(series) for _ in buckets]
    position = {case_id: i for i, (case_id, _label_text) in enumerate(series)}
    for day, per_case in per_day.items():
        bucket = day - timedelta(days=day.weekday()) if weekly else day
        if bucket not in index:
            continue
        for case_id, cards in per_case.items():
            if case_id in position:
                values[index[bucket]][position[case_id]] += cards

    chart = Chart(per="week" if weekly else "day", start=start, end=end)
    totals = [sum(v) for v in values]
    chart.total = sum(totals)
    chart.series = [
        Series(label, f"chart-s{i % SERIES_CLASSES}", sum(v[i] for v in values)) for i, (_id, label) in enumerate(series)
    ]
    bucket_labels = [("w/c " if weekly else "") + _label(b) for b in buckets]
    chart.table = [(bucket_labels[i], values[i], totals[i]) for i in range(len(buckets)) if totals[i]]
    if chart.total:
        peak = max(range(len(buckets)), key=lambda i: totals[i])
        chart.peak = (bucket_labels[peak] + (f" {buckets[peak].year}"), totals[peak])

    top, step = nice_ceiling(max(totals) if totals else 0)
    plot_h = chart.plot_bottom - chart.plot_top
    plot_w = chart.plot_right - chart.plot_left
    slot = plot_w / max(1, len(buckets))
    bar_w = max(1.0, slot * 0.78)
    for tick in range(0, top + 1, step):
        chart.y_ticks.append((round(chart.plot_bottom - plot_h * tick / top, 1), f"{tick:,}"))
    every = max(1, math.ceil(len(buckets) / 10))
    for i, b in enumerate(buckets):
        if i % every == 0:
            chart.x_labels.append((round(chart.plot_left + slot * (i + 0.5), 1), _label(b)))
        y = float(chart.plot_bottom)
        for s, cards in enumerate(values[i]):
            if not cards:
                continue
            h = plot_h * cards / top
            y -= h
            chart.segments.append(Segment(
                x=round(chart.plot_left + slot * i + (slot - bar_w) / 2, 2), y=round(y, 2), width=round(bar_w, 2),
                height=round(h, 2), css=chart.series[s].css,
                title=f"{bucket_labels[i]} {b.year} — {chart.series[s].label}: {cards:,} cards",
            ))
    return chart
