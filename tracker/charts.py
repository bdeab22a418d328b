"""Line charts drawn on the server as SVG: no chart JavaScript, nothing inline to block.

The SVG uses presentation attributes and CSS classes only (our CSP forbids
inline styles). Days without a reading break the line rather than being joined
across the gap. Each chart has a title and description for screen readers; the
page also shows the figures as a table and in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from . import trends
from .roles import Category
from .sharing import Membership
from .trackers import list_trackers
from .trends import Series

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 36


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _short(day: date) -> str:
    return f"{day.day} {day:%b}"


def line_chart(series: Series, chart_id: str, description: str) -> Markup:
    """An accessible SVG line chart of a daily series."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span_days = max((series.last - series.first).days, 1)
    low, high = series.low, series.high
    scale = (high - low) or 1

    def x(day: date) -> float:
        return LEFT + plot_w * (day - series.first).days / span_days

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (value - low) / scale)

    parts = [
        f'<svg class="app-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" focusable="false">',
        f'<title id="{chart_id}-title">{escape(series.name)} chart</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    if series.target_min is not None or series.target_max is not None:
        t_high = min(series.target_max if series.target_max is not None else high, high)
        t_low = max(series.target_min if series.target_min is not None else low, low)
        if t_high > t_low:
            parts.append(
                f'<rect class="app-chart__target" x="{LEFT}" y="{y(t_high):.1f}" '
                f'width="{plot_w}" height="{y(t_low) - y(t_high):.1f}"/>'
            )
    ticks = [low, (low + high) / 2, high] if not series.yes_no else [0, 1]
    for tick in ticks:
        label = ("Yes" if tick else "No") if series.yes_no else _fmt(tick)
        parts.append(
            f'<line class="app-chart__grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
            f'<text class="app-chart__label" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{label}</text>'
        )
    parts.append(
        f'<text class="app-chart__label" x="{LEFT}" y="{HEIGHT - 10}">{_short(series.first)}</text>'
        f'<text class="app-chart__label" x="{WIDTH - RIGHT}" y="{HEIGHT - 10}" '
        f'text-anchor="end">{_short(series.last)}</text>'
    )
    run: list[str] = []
    previous: date | None = None
    for day, value in series.points:
        if previous is not None and (day - previous).days > 1 and run:
            parts.append(_polyline(run))
            run = []
        run.append(f"{x(day):.1f},{y(value):.1f}")
        previous = day
    if run:
        parts.append(_polyline(run))
    if len(series.points) <= 31:
        for day, value in series.points:
            parts.append(
                f'<circle class="app-chart__point" cx="{x(day):.1f}" cy="{y(value):.1f}" r="4"/>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every interpolated text is escaped or numeric)


def _polyline(points: list[str]) -> str:
    if len(points) == 1:
        cx, cy = points[0].split(",")
        return f'<circle class="app-chart__point" cx="{cx}" cy="{cy}" r="4"/>'
    return f'<polyline class="app-chart__line" points="{" ".join(points)}"/>'


@dataclass(frozen=True)
class Chart:
    """One series drawn for a page: the series, its summary sentence and the SVG."""

    series: Series
    summary: str
    svg: Markup
    # The keys of the review summary's statements about this series (its trend and,
    # for a tracker, its warning signs), so a chart can follow its statements.
    statement_keys: tuple[str, ...] = ()


def charts_for(
    record_id: str,
    first: date,
    last: date,
    viewer: Membership,
    *,
    id_prefix: str = "chart",
    skip_empty: bool = False,
) -> list[Chart]:
    """Mood and each tracker over a period, as far as ``viewer`` may see them.

    Each summary compares the period with the same length of time just before it.
    """
    before = trends.previous_window(first, last)
    # One read of the log for every series and both periods.
    docs = trends.fetch(record_id, before[0], viewer)
    pairs = []
    if viewer.sees(Category.MOOD):
        pairs.append(
            (
                trends.mood_series(record_id, first, last, viewer, docs=docs),
                trends.mood_series(record_id, *before, viewer, docs=docs),
                ("trend-mood",),
            )
        )
    if viewer.sees(Category.SYMPTOMS):
        for tracker in list_trackers(record_id):
            pairs.append(
                (
                    trends.tracker_series(record_id, tracker, first, last, viewer, docs=docs),
                    trends.tracker_series(record_id, tracker, *before, viewer, docs=docs),
                    (f"trend-{tracker.id}", f"hits-{tracker.id}"),
                )
            )
    out = []
    for i, (current, previous, keys) in enumerate(pairs):
        if skip_empty and not current.points:
            continue
        text = trends.summary(current, previous)
        out.append(Chart(current, text, line_chart(current, f"{id_prefix}-{i}", text), keys))
    return out
