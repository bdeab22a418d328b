"""Trends: daily series, the summary sentence and the SVG chart, against hand-worked examples.

Every expected figure below was worked out by hand from the readings next to it
(the working is in the comments); the rules are written down in
docs/trends-and-warnings.md.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest

from tracker import charts, clock, logs, plans, reviews, trackers, trends
from tracker.clock import LONDON
from tracker.trackers import TrackerKind
from tracker.trends import Period, Series

from .conftest import text_of, url
from .test_logs import (
    Clock,
    in_app,
)

NOV_1, NOV_14 = date(2026, 11, 1), date(2026, 11, 14)


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """A UK wall-clock time on a day."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def nov(d: int, hour: int = 9) -> datetime:
    return at(date(2026, 11, d), hour)


def oct_(d: int, hour: int = 9) -> datetime:
    return at(date(2026, 10, d), hour)


def add_readings(people, tracker, readings: list[tuple[datetime, float]]) -> None:
    with people.app.app_context():
        for when, value in readings:
            logs.record_reading(
                people.record_id,
                author_id=people.owner_id,
                tracker_id=tracker.id,
                value=value,
                occurred_at=when,
            )


def add_moods(people, moods: list[tuple[datetime, int]]) -> None:
    with people.app.app_context():
        for when, score in moods:
            logs.record_mood(
                people.record_id, author_id=people.owner_id, score=score, occurred_at=when
            )


def make(people, name: str, kind: TrackerKind, **kw) -> trackers.Tracker:
    return in_app(people.app, trackers.define_tracker, people.record_id, name=name, kind=kind, **kw)


def series_pair(people, tracker, first: date, last: date) -> tuple[Series, Series]:
    with people.app.app_context():
        before = trends.previous_window(first, last)
        if tracker is None:
            return (
                trends.mood_series(people.record_id, first, last),
                trends.mood_series(people.record_id, *before),
            )
        return (
            trends.tracker_series(people.record_id, tracker, first, last),
            trends.tracker_series(people.record_id, tracker, *before),
        )


def summary_of(people, tracker, first: date = NOV_1, last: date = NOV_14) -> str:
    return trends.summary(*series_pair(people, tracker, first, last))


# Pain over 1–14 November against 18–31 October, worked by hand:
#   1 Nov: 6 and 4 → 5.0;  2 Nov: 5;  5 Nov: 6;  9 Nov: 4, 5 and 6 → 5.0;  14 Nov: 5
#   average of the 5 days: (5 + 5 + 6 + 5 + 5) / 5 = 26 / 5 = 5.2
#   20 Oct: 7;  25 Oct: 6 and 7 → 6.5;  30 Oct: 7
#   average of the 3 days: (7 + 6.5 + 7) / 3 = 20.5 / 3 = 6.833… → "6.8"
PAIN_NOW = [
    (nov(1, 8), 6),
    (nov(1, 20), 4),
    (nov(2), 5),
    (nov(5), 6),
    (nov(9, 7), 4),
    (nov(9, 12), 5),
    (nov(9, 22), 6),
    (nov(14), 5),
]
PAIN_BEFORE = [(oct_(20), 7), (oct_(25, 8), 6), (oct_(25, 21), 7), (oct_(30), 7)]


# --- daily values ---------------------------------------------------------------------------


def test_the_daily_value_of_a_scale_is_the_days_mean(people):
    pain = make(people, "Pain", TrackerKind.SCALE)
    add_readings(people, pain, PAIN_NOW)
    current, _ = series_pair(people, pain, NOV_1, NOV_14)
    assert current.points == (
        (date(2026, 11, 1), 5.0),
        (date(2026, 11, 2), 5.0),
        (date(2026, 11, 5), 6.0),
        (date(2026, 11, 9), 5.0),
        (date(2026, 11, 14), 5.0),
    )
    assert trends.average(current) == pytest.approx(5.2)
    assert (current.low, current.high) == (0.0, 10.0)


def test_the_daily_value_of_mood_is_the_days_mean_of_check_ins(people):
    # 3 Nov: 2 and 3 → 2.5;  4 Nov: 5, 4 and 4 → 4.333…;  average (2.5 + 4.333…) / 2 = 3.41…
    add_moods(
        people, [(nov(3, 8), 2), (nov(3, 19), 3), (nov(4, 8), 5), (nov(4, 12), 4), (nov(4, 20), 4)]
    )
    current, _ = series_pair(people, None, NOV_1, NOV_14)
    assert current.points[0] == (date(2026, 11, 3), 2.5)
    assert current.points[1][0] == date(2026, 11, 4)
    assert current.points[1][1] == pytest.approx(13 / 3)
    assert (current.low, current.high) == (1, 5)
    assert summary_of(people, None) == (
        "Average mood 3.4. No readings in the previous 2 weeks to compare with."
    )


def test_the_daily_value_of_a_count_is_the_days_total(people):
    # 3 Nov: 1 + 2 = 3;  4 Nov: 1;  6 Nov: 0;  average (3 + 1 + 0) / 3 = 1.333… → "1.3"
    falls = make(people, "Falls", TrackerKind.COUNT)
    add_readings(people, falls, [(nov(3, 8), 1), (nov(3, 18), 2), (nov(4), 1), (nov(6), 0)])
    current, _ = series_pair(people, falls, NOV_1, NOV_14)
    assert current.points == (
        (date(2026, 11, 3), 3.0),
        (date(2026, 11, 4), 1.0),
        (date(2026, 11, 6), 0.0),
    )
    assert current.low == 0.0
    assert summary_of(people, falls).startswith("Average falls 1.3.")


def test_the_daily_value_of_a_yes_no_is_yes_if_any_answer_that_day_was_yes(people):
    # 3 Nov: no then yes → yes;  4 Nov: no;  6 Nov: yes;  yes on 2 of the 3 days.
    fever = make(people, "Fever", TrackerKind.YES_NO)
    add_readings(people, fever, [(nov(3, 8), 0), (nov(3, 18), 1), (nov(4), 0), (nov(6), 1)])
    current, _ = series_pair(people, fever, NOV_1, NOV_14)
    assert current.points == (
        (date(2026, 11, 3), 1.0),
        (date(2026, 11, 4), 0.0),
        (date(2026, 11, 6), 1.0),
    )
    assert current.yes_no
    assert summary_of(people, fever) == '"Yes" on 2 of the 3 days with an answer in this period.'


def test_a_yes_no_without_answers_says_so(people):
    fever = make(people, "Fever", TrackerKind.YES_NO)
    assert summary_of(people, fever) == "No answers for fever in this period."


def test_days_are_uk_days_even_across_the_clock_change(people):
    # 00:30 BST on 20 October is 23:30 UTC on the 19th: it is a reading of the 20th,
    # the first day of the window, and must be in the series.
    pain = make(people, "Pain", TrackerKind.SCALE)
    first, last = date(2026, 10, 20), date(2026, 11, 2)
    add_readings(
        people,
        pain,
        [
            (datetime(2026, 10, 19, 22, 30, tzinfo=UTC), 1),  # 23:30 BST on the 19th: before
            (datetime(2026, 10, 19, 23, 30, tzinfo=UTC), 4),  # 00:30 BST on the 20th
            (datetime(2026, 10, 26, 0, 30, tzinfo=UTC), 8),  # 00:30 GMT on the 26th
            (datetime(2026, 11, 2, 23, 59, tzinfo=UTC), 6),  # 23:59 GMT on the 2nd: last day
            (datetime(2026, 11, 3, 0, 0, tzinfo=UTC), 9),  # midnight: the day after
        ],
    )
    current, previous = series_pair(people, pain, first, last)
    assert current.points == (
        (date(2026, 10, 20), 4.0),
        (date(2026, 10, 26), 8.0),
        (date(2026, 11, 2), 6.0),
    )
    assert previous.points == ((date(2026, 10, 19), 1.0),)


# --- the summary sentence ---------------------------------------------------------------------


def test_average_down_from_the_previous_two_weeks(people):
    pain = make(people, "Pain", TrackerKind.SCALE)
    add_readings(people, pain, PAIN_NOW + PAIN_BEFORE)
    assert summary_of(people, pain) == "Average pain 5.2, down from 6.8 in the previous 2 weeks."


def test_average_up_from_the_previous_two_weeks_with_a_unit(people):
    # Now: 6, 7 → 6.5.  Before: 5, 4.5, 5.5 → 5.0.
    sleep = make(people, "Sleep", TrackerKind.NUMBER, unit="hours")
    add_readings(
        people,
        sleep,
        [(nov(2), 6), (nov(3), 7), (oct_(19), 5), (oct_(20), 4.5), (oct_(21), 5.5)],
    )
    assert summary_of(people, sleep) == (
        "Average sleep 6.5 hours, up from 5.0 hours in the previous 2 weeks."
    )


def test_averages_that_round_to_the_same_figure_are_the_same(people):
    # Now: 4.1 and 3.98 → 4.04 → "4.0".  Before: 3.96 → "4.0".
    weight = make(people, "PEF", TrackerKind.NUMBER, unit="L/min")
    add_readings(people, weight, [(nov(2), 4.1), (nov(3), 3.98), (oct_(25), 3.96)])
    assert summary_of(people, weight) == (
        "Average PEF 4.0 L/min, the same as in the previous 2 weeks."
    )


def test_no_previous_data_is_said_plainly(people):
    pain = make(people, "Pain", TrackerKind.SCALE)
    add_readings(people, pain, PAIN_NOW)
    assert summary_of(people, pain) == (
        "Average pain 5.2. No readings in the previous 2 weeks to compare with."
    )


def test_no_readings_in_the_period_is_said_plainly(people):
    pain = make(people, "Pain", TrackerKind.SCALE)
    add_readings(people, pain, PAIN_BEFORE)
    assert summary_of(people, pain) == "No readings of pain in this period."


def test_the_summary_names_the_length_of_the_period(people):
    pain = make(people, "Pain", TrackerKind.SCALE)
    add_readings(people, pain, [(nov(2), 4), (date_at(2026, 7, 1), 8)])
    three_months = trends.window(Period.THREE_MONTHS, date(2026, 11, 23), None)
    assert three_months == (date(2026, 8, 24), date(2026, 11, 23))
    assert summary_of(people, pain, *three_months) == (
        "Average pain 4.0, down from 8.0 in the previous 3 months."
    )
    assert summary_of(people, pain, date(2026, 10, 1), date(2026, 11, 16)) == (
        "Average pain 4.0. No readings in the previous 47 days to compare with."
    )
    assert summary_of(people, pain, date(2026, 10, 27), date(2026, 11, 2)) == (
        "Average pain 4.0. No readings in the previous week to compare with."
    )


def date_at(y: int, m: int, d: int) -> datetime:
    return at(date(y, m, d))


@pytest.mark.parametrize(
    ("name", "shown"),
    [("Pain", "pain"), ("Peak flow", "peak flow"), ("FEV1", "FEV1"), ("PEF", "PEF"), ("x", "x")],
)
def test_names_read_naturally_inside_the_sentence(name, shown):
    assert trends.in_sentence(name) == shown


# --- windows ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "today", "start", "expected"),
    [
        (Period.TWO_WEEKS, date(2026, 11, 23), None, (date(2026, 11, 10), date(2026, 11, 23))),
        (Period.THREE_MONTHS, date(2026, 11, 23), None, (date(2026, 8, 24), date(2026, 11, 23))),
        (Period.THREE_MONTHS, date(2026, 5, 31), None, (date(2026, 3, 1), date(2026, 5, 31))),
        (
            Period.SINCE_REVIEW,
            date(2026, 11, 23),
            date(2026, 6, 1),
            (date(2026, 6, 1), date(2026, 11, 23)),
        ),
        (Period.SINCE_REVIEW, date(2026, 11, 23), None, (date(2026, 11, 10), date(2026, 11, 23))),
        (
            Period.SINCE_REVIEW,
            date(2026, 11, 23),
            date(2026, 12, 1),
            (date(2026, 11, 10), date(2026, 11, 23)),
        ),
    ],
)
def test_each_period_covers_the_right_days(period, today, start, expected):
    assert trends.window(period, today, start) == expected


def test_the_previous_window_is_the_same_length_just_before():
    assert trends.previous_window(date(2026, 11, 10), date(2026, 11, 23)) == (
        date(2026, 10, 27),
        date(2026, 11, 9),
    )
    first, last = trends.window(Period.THREE_MONTHS, date(2026, 11, 23), None)
    before = trends.previous_window(first, last)
    assert (before[1] - before[0]).days == (last - first).days
    assert before[1] == first - timedelta(days=1)


def test_the_trends_page_uses_each_period(people, owner, monkeypatch):
    Clock(monkeypatch, datetime(2026, 11, 23, 12, tzinfo=UTC))
    with people.app.app_context():
        plans.save_review_arrangements(
            people.record_id,
            by=people.coordinator_id,
            start_date=date(2026, 6, 1),
            next_review=date(2026, 12, 1),
            interval_months=6,
        )
    expect = {
        "": "From 10 November 2026 to 23 November 2026.",
        "?period=2-weeks": "From 10 November 2026 to 23 November 2026.",
        "?period=3-months": "From 24 August 2026 to 23 November 2026.",
        "?period=since-review": "From 1 June 2026 to 23 November 2026.",
        "?period=nonsense": "From 10 November 2026 to 23 November 2026.",
    }
    for query, words in expect.items():
        response = owner.get(url(people, f"/trends{query}"))
        assert response.status_code == 200
        assert words in text_of(response), query


def test_since_the_last_review_starts_at_the_last_review_held(people, owner, monkeypatch):
    Clock(monkeypatch, datetime(2026, 11, 23, 12, tzinfo=UTC))
    with people.app.app_context():
        plans.save_review_arrangements(
            people.record_id,
            by=people.coordinator_id,
            start_date=date(2026, 3, 1),
            next_review=date(2026, 9, 1),
            interval_months=6,
        )
        reviews.record_review(
            people.record_id,
            held_on=date(2026, 9, 3),
            participants="Olive, Cody",
            agreed="Carry on",
            next_review_on=date(2027, 3, 3),
            by=people.coordinator_id,
        )
    page = text_of(owner.get(url(people, "/trends?period=since-review")))
    assert "From 3 September 2026 to 23 November 2026." in page


def test_the_trends_page_shows_each_summary_chart_and_table(people, owner, monkeypatch):
    Clock(monkeypatch, datetime(2026, 11, 14, 12, tzinfo=UTC))
    pain = make(people, "Pain", TrackerKind.SCALE)
    add_readings(people, pain, PAIN_NOW + PAIN_BEFORE)
    add_moods(people, [(nov(3), 4)])
    with people.app.app_context():
        today = clock.today()
    assert today == NOV_14
    response = owner.get(url(people, "/trends"))
    page = text_of(response)
    assert "Average pain 5.2, down from 6.8 in the previous 2 weeks." in page
    assert "Average mood 4.0. No readings in the previous 2 weeks to compare with." in page
    assert page.count('<svg class="app-chart"') == 2
    assert "Show the figures as a table" in page
    # The table: newest first, one row per day, to one decimal place.
    table = page[page.index("Pain, average each day") :]
    rows = re.findall(r"<td>([^<]+)</td><td[^>]*>([^<]+)</td>", table)[:5]
    assert rows == [
        ("14 November 2026", "5.0"),
        ("9 November 2026", "5.0"),
        ("5 November 2026", "6.0"),
        ("2 November 2026", "5.0"),
        ("1 November 2026", "5.0"),
    ]


def test_the_coordinator_sees_trends_and_the_carer_does_not_by_default(
    people, owner, carer, coordinator
):
    make(people, "Pain", TrackerKind.SCALE)
    assert coordinator.get(url(people, "/trends")).status_code == 200
    assert carer.get(url(people, "/trends")).status_code == 404


def test_an_archived_tracker_has_no_chart(people, owner):
    pain = make(people, "Pain", TrackerKind.SCALE)
    add_readings(people, pain, [(clock.now() - timedelta(hours=1), 5)])
    assert "Pain chart" in text_of(owner.get(url(people, "/trends")))
    with people.app.app_context():
        trackers.set_archived(people.record_id, pain.id, True)
    assert "Pain chart" not in text_of(owner.get(url(people, "/trends")))


# --- the SVG ----------------------------------------------------------------------------------


def parse_svg(svg: str) -> ET.Element:
    """Our own chart, parsed to check it is well-formed XML (tags without any namespace)."""
    root = ET.fromstring(svg)  # noqa: S314 (our own output, not untrusted input)
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return root


def svg_of(series: Series, description: str = "A description") -> ET.Element:
    return parse_svg(str(charts.line_chart(series, "chart-1", description)))


def make_series(points, **kw) -> Series:
    defaults = dict(
        name="Pain",
        unit="",
        low=0.0,
        high=10.0,
        points=tuple(points),
        first=NOV_1,
        last=NOV_14,
    )
    defaults.update(kw)
    return Series(**defaults)


GAPPY = [
    (date(2026, 11, 1), 5.0),
    (date(2026, 11, 2), 6.0),
    (date(2026, 11, 3), 4.0),
    (date(2026, 11, 5), 7.0),
    (date(2026, 11, 6), 8.0),
    (date(2026, 11, 9), 3.0),
]


def test_the_chart_is_valid_xml_with_a_title_and_description(people):
    root = svg_of(make_series(GAPPY), "Average pain 5.5.")
    assert root.tag == "svg"
    assert root.get("role") == "img"
    title, desc = root.find("title"), root.find("desc")
    assert title.text == "Pain chart"
    assert desc.text == "Average pain 5.5."
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


def test_the_chart_has_no_inline_styles_for_the_content_security_policy():
    root = svg_of(make_series(GAPPY, target_min=2, target_max=6))
    for element in root.iter():
        assert "style" not in element.attrib, element.tag
        assert not any(a.startswith("on") for a in element.attrib), element.tag
    assert root.find("style") is None
    assert root.find("script") is None


def test_gaps_break_the_line():
    root = svg_of(make_series(GAPPY))
    lines = [p.get("points").split() for p in root.iter("polyline")]
    # 1–3 November, then 5–6 November; 9 November stands alone as a dot.
    assert [len(line) for line in lines] == [3, 2]
    assert len(root.findall("circle")) == len(GAPPY) + 1  # every point, plus the lone one


def test_points_are_placed_by_day_and_value():
    # The plot is 584 px wide (640 − 44 − 12) over 13 days and 212 px high (260 − 12 − 36):
    # 1 Nov at 0 is (44, 224); 2 Nov at 10 is (44 + 584 / 13, 12) = (88.9, 12);
    # 14 Nov at 5 stands alone at (628, 118).
    root = svg_of(make_series([(NOV_1, 0.0), (date(2026, 11, 2), 10.0), (NOV_14, 5.0)]))
    (line,) = root.iter("polyline")
    assert line.get("points") == "44.0,224.0 88.9,12.0"
    assert ("628.0", "118.0") in [(c.get("cx"), c.get("cy")) for c in root.iter("circle")]


def test_a_target_range_is_drawn_as_a_band_clipped_to_the_chart():
    root = svg_of(make_series(GAPPY, target_max=4))
    (band,) = [r for r in root.iter("rect") if r.get("class") == "app-chart__target"]
    # From 0 (y 224) up to 4 (y 224 − 212 × 0.4 = 139.2).
    assert band.get("y") == "139.2"
    assert band.get("height") == "84.8"


def test_a_yes_no_chart_labels_its_axis_yes_and_no():
    root = svg_of(make_series([(NOV_1, 1.0), (NOV_14, 0.0)], low=0.0, high=1.0, yes_no=True))
    labels = [t.text for t in root.iter("text")]
    assert "Yes" in labels
    assert "No" in labels


def test_text_in_the_chart_is_escaped():
    root = svg_of(make_series(GAPPY, name='<script>"x"</script> & pain'), "<b>desc</b>")
    assert root.find("title").text == '<script>"x"</script> & pain chart'
    assert root.find("desc").text == "<b>desc</b>"
    assert root.find("script") is None


def test_a_long_series_draws_a_line_without_dots():
    days = [(date(2026, 8, 24) + timedelta(days=i), float(i % 10)) for i in range(92)]
    root = svg_of(make_series(days, first=date(2026, 8, 24), last=date(2026, 11, 23)))
    assert len(root.findall("circle")) == 0
    (line,) = root.iter("polyline")
    assert len(line.get("points").split()) == 92


def test_every_chart_on_the_trends_page_is_valid_svg_without_styles(people, owner):
    pain = make(people, "Pain", TrackerKind.SCALE, target_max=4)
    weight = make(people, "Weight", TrackerKind.NUMBER, unit="kg")
    fever = make(people, "Fever", TrackerKind.YES_NO)
    falls = make(people, "Falls", TrackerKind.COUNT)
    now = clock.now()
    for i in range(0, 80, 3):
        when = now - timedelta(days=i, hours=1)
        add_readings(people, pain, [(when, i % 11)])
        add_readings(people, weight, [(when, 70 + i / 10)])
        add_readings(people, fever, [(when, i % 2)])
        add_readings(people, falls, [(when, i % 4)])
        add_moods(people, [(when, 1 + i % 5)])
    for period in ("2-weeks", "3-months", "since-review"):
        body = owner.get(url(people, f"/trends?period={period}")).get_data(as_text=True)
        svgs = re.findall(r'<svg class="app-chart".*?</svg>', body, flags=re.S)
        assert len(svgs) == 5, period
        for svg in svgs:
            root = parse_svg(svg)
            assert root.find("title") is not None
            assert all("style" not in e.attrib for e in root.iter())
        assert " style=" not in body
