"""Reviews: the schedule (month ends, leap years, the 12-month cap, overdue) and held reviews.

The top of this file holds the helpers the other review test files import: a
frozen clock, a builder that writes hand-made records through the domain
modules, and small page helpers.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tracker import actions, clock, digests, goals, logs, plans, reviews, sharing, summaries
from tracker import trackers as trk
from tracker.actions import Owner, Repeat, Schedule
from tracker.clock import LONDON
from tracker.goals import GoalStatus
from tracker.roles import Category, Role

from .conftest import Clock, People, assert_problem, date_parts, send, url

# --- helpers shared by the review test files ------------------------------------------

# Noon in London on a summer day; every review test runs at this moment unless it moves.
NOW = datetime(2026, 6, 30, 11, 0, tzinfo=UTC)
TODAY = date(2026, 6, 30)
START = date(2026, 1, 5)  # the plan's start: long enough before TODAY for two trend windows


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch, NOW)


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A moment on a UK day."""
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def days_before(n: int, today: date = TODAY) -> date:
    return today - timedelta(days=n)


class Rec:
    """A person's record built by hand through the domain modules.

    Each call runs in its own app context, so that no ``g`` leaks into the test
    client's requests. Entries are back-dated with ``recorded_at`` (as imports and
    the demo do), so they land in their own month's file.
    """

    def __init__(self, people: People) -> None:
        self.people = people
        self.app: Flask = people.app
        self.id = people.record_id

    def run(self, fn, *args, **kwargs):
        with self.app.app_context():
            return fn(*args, **kwargs)

    # plan, goals, actions
    def plan(
        self, start: date | None = START, next_review: date | None = None, interval: int = 12
    ) -> plans.Plan:
        return self.run(
            plans.save_review_arrangements,
            self.id,
            by=self.people.coordinator_id,
            start_date=start,
            next_review=next_review,
            interval_months=interval,
        )

    def goal(self, outcome: str = "To walk to the shop and back") -> goals.Goal:
        return self.run(goals.add_goal, self.id, outcome=outcome, by=self.people.owner_id)

    def status(self, goal: goals.Goal, status: GoalStatus, note: str = "") -> None:
        self.run(
            goals.set_goal_status, self.id, goal.id, status, by=self.people.owner_id, note=note
        )

    def action(
        self,
        what: str = "Do my breathing exercises",
        *,
        start: date,
        owner: Owner = Owner.ME,
        confidence: int | None = None,
        repeat: Repeat = Repeat.DAILY,
        goal: goals.Goal | None = None,
    ) -> actions.Action:
        goal = goal or self.goal(f"Goal for {what}")
        return self.run(
            actions.add_action,
            self.id,
            goal_id=goal.id,
            what=what,
            owner=owner,
            owner_name="Cara Carer" if owner is Owner.CARER else "",
            confidence=confidence,
            schedule=Schedule(repeat, start),
        )

    def mark(
        self, action: actions.Action, day: date, outcome: actions.Outcome, hour: int = 21
    ) -> str:
        return self.run(
            actions.mark_occurrence,
            self.id,
            action,
            day,
            outcome,
            by=self.people.owner_id,
            today=clock.today(),
            at=at(day, hour),
        )

    # logs
    def mood(self, day: date, score: int, hour: int = 9) -> str:
        when = at(day, hour)
        return self.run(
            logs.record_mood,
            self.id,
            author_id=self.people.owner_id,
            score=score,
            occurred_at=when,
            recorded_at=when,
        )

    def tracker(self, name: str = "Breathlessness", **kwargs) -> trk.Tracker:
        kwargs.setdefault("kind", trk.TrackerKind.SCALE)
        return self.run(trk.define_tracker, self.id, name=name, **kwargs)

    def reading(self, tracker: trk.Tracker, day: date, value: float, hour: int = 9) -> str:
        when = at(day, hour)
        return self.run(
            logs.record_reading,
            self.id,
            author_id=self.people.owner_id,
            tracker_id=tracker.id,
            value=value,
            occurred_at=when,
            recorded_at=when,
        )

    def diary(self, day: date, text: str, mark: logs.DiaryMark | None = None) -> str:
        when = at(day, 21)
        return self.run(
            logs.write_diary,
            self.id,
            author_id=self.people.owner_id,
            text=text,
            mark=mark,
            occurred_at=when,
            recorded_at=when,
        )

    def given(self, day: date, minutes: int | None = 30) -> str:
        when = at(day, 20)
        return self.run(
            logs.record_support,
            self.id,
            author_id=self.people.carer_id,
            kind=logs.SupportKind.GIVEN,
            what="Help with the evening routine",
            minutes=minutes,
            occurred_at=when,
            recorded_at=when,
        )

    def missed(self, day: date, reason: logs.MissedReason, reason_text: str = "") -> str:
        when = at(day, 20)
        return self.run(
            logs.record_support,
            self.id,
            author_id=self.people.carer_id,
            kind=logs.SupportKind.MISSED,
            what="Morning help with washing",
            reason=reason,
            reason_text=reason_text,
            occurred_at=when,
            recorded_at=when,
        )

    def observed(self, day: date) -> str:
        when = at(day, 20)
        return self.run(
            logs.record_support,
            self.id,
            author_id=self.people.carer_id,
            kind=logs.SupportKind.OBSERVATION,
            what="Seemed more breathless on the stairs",
            occurred_at=when,
            recorded_at=when,
        )

    def event(self, day: date, event: logs.EventType, note: str = "") -> str:
        when = at(day, 14)
        return self.run(
            logs.record_event,
            self.id,
            author_id=self.people.carer_id,
            event=event,
            note=note,
            occurred_at=when,
            recorded_at=when,
        )

    def hit(self, tracker: trk.Tracker, day: date, logged: date | None = None) -> str:
        """An early warning rule hit about ``day``, found on ``logged`` (default: that day)."""
        when = at(logged or day, 9, 5)
        rule = tracker.rule or trk.Rule(trk.RuleKind.AT_LEAST_FOR_DAYS, 7, 2)
        return self.run(
            logs.log,
            self.id,
            logs.Kind.RULE_HIT,
            author_id=self.people.owner_id,
            data={
                "tracker_id": tracker.id,
                "tracker_name": tracker.name,
                "day": day.isoformat(),
                "rule": rule.describe(tracker.unit),
                "evidence": [[day.isoformat(), 8]],
            },
            occurred_at=when,
            recorded_at=when,
        )

    # reviews and summaries
    def review(self, held_on: date, next_review_on: date | None = None) -> reviews.Review:
        return self.run(
            reviews.record_review,
            self.id,
            held_on=held_on,
            participants="Olive, Cody",
            agreed="Keep going",
            next_review_on=next_review_on,
            by=self.people.coordinator_id,
        )

    def summary(self, **kwargs) -> summaries.Summary:
        return self.run(summaries.compile_summary, self.id, **kwargs)

    def statements(self, **kwargs) -> dict[str, summaries.Statement]:
        return {s.key: s for s in self.summary(**kwargs).statements}

    def digest(self) -> digests.Digest:
        return self.run(digests.get, self.id)

    def get_plan(self) -> plans.Plan:
        return self.run(plans.get_plan, self.id)


@pytest.fixture
def rec(frozen: Clock, people: People) -> Rec:
    """The people fixture's record, with a plan that started on START, at NOW."""
    r = Rec(people)
    r.plan()
    return r


def visible_text(response) -> str:
    """The page's words without tags, whitespace collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def date_fields(name: str, day: date | None) -> dict[str, str]:
    """The NHS date input's three boxes for a date (empty boxes for None)."""
    return date_parts(name, day)


@pytest.fixture
def owner(rec: Rec, login_as) -> FlaskClient:
    return login_as("owner@example.com")


@pytest.fixture
def carer(rec: Rec, login_as) -> FlaskClient:
    return login_as("carer@example.com")


@pytest.fixture
def coordinator(rec: Rec, login_as) -> FlaskClient:
    return login_as("coord@example.com")


# --- the schedule's arithmetic ----------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (date(2025, 11, 30), date(2026, 2, 28)),  # no 30 February: the month's last day
        (date(2023, 11, 30), date(2024, 2, 29)),  # a leap year has one
        (date(2023, 11, 29), date(2024, 2, 29)),
        (date(2024, 11, 29), date(2025, 2, 28)),
        (date(2025, 8, 31), date(2025, 11, 30)),  # no 31 November
        (date(2025, 12, 31), date(2026, 3, 31)),
        (date(2026, 1, 15), date(2026, 4, 15)),
        (date(2024, 2, 29), date(2024, 5, 29)),
    ],
)
def test_first_review_is_three_calendar_months_after_the_plan_starts(start, due):
    assert reviews.first_review_due(start) == due


@pytest.mark.parametrize(
    ("held", "interval", "due"),
    [
        (date(2026, 3, 10), 6, date(2026, 9, 10)),
        (date(2026, 3, 10), 12, date(2027, 3, 10)),
        (date(2026, 3, 10), 18, date(2027, 3, 10)),  # never more than 12 months
        (date(2026, 3, 10), 99, date(2027, 3, 10)),
        (date(2026, 3, 10), 0, date(2026, 4, 10)),  # at least a month
        (date(2024, 2, 29), 12, date(2025, 2, 28)),  # a leap day a year on
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),
    ],
)
def test_following_review_uses_the_interval_capped_at_twelve_months(held, interval, due):
    assert reviews.following_review_due(held, interval) == due


def _review(held_on: date) -> reviews.Review:
    return reviews.Review("r", held_on, "", "", held_on, "u", "")


def test_next_review_is_three_months_after_the_start_without_a_review_or_agreed_date():
    plan = plans.Plan(start_date=date(2025, 11, 30), version=1)
    assert reviews.next_review(plan) == date(2026, 2, 28)


def test_an_agreed_date_overrides_the_schedule():
    plan = plans.Plan(start_date=date(2025, 11, 30), next_review=date(2026, 1, 20), version=1)
    assert reviews.next_review(plan) == date(2026, 1, 20)
    held = [_review(date(2026, 1, 20))]
    assert reviews.next_review(plan, held) == date(2026, 1, 20)


def test_after_a_review_the_next_follows_the_latest_review_and_the_interval():
    plan = plans.Plan(start_date=date(2025, 1, 1), review_interval_months=6, version=1)
    held = [_review(date(2025, 4, 1)), _review(date(2025, 8, 31)), _review(date(2025, 6, 1))]
    assert reviews.next_review(plan, held) == date(2026, 2, 28)


def test_there_is_no_review_date_without_a_start_date_or_an_agreed_one():
    plan = plans.Plan()
    assert reviews.next_review(plan) is None
    due = reviews.due(plan, TODAY)
    assert (due.on, due.overdue, due.words) == (None, False, "No review date set")


@pytest.mark.parametrize(
    ("on", "overdue", "words"),
    [
        (TODAY + timedelta(days=2), False, "Due in 2 days"),
        (TODAY + timedelta(days=1), False, "Due in 1 day"),
        (TODAY, False, "Due today"),  # due today is not overdue
        (TODAY - timedelta(days=1), True, "Overdue by 1 day"),  # yesterday is
        (TODAY - timedelta(days=40), True, "Overdue by 40 days"),
    ],
)
def test_a_review_is_overdue_from_the_day_after_it_was_due(on, overdue, words):
    plan = plans.Plan(next_review=on, version=1)
    due = reviews.due(plan, TODAY)
    assert (due.on, due.overdue, due.words) == (on, overdue, words)


def test_the_plan_refuses_an_interval_longer_than_twelve_months(rec: Rec):
    with pytest.raises(ValueError, match="at least yearly"):
        rec.plan(interval=13)
    with pytest.raises(ValueError):
        rec.plan(interval=0)
    assert rec.get_plan().review_interval_months == 12


# --- overdue, flagged where it matters ---------------------------------------------------


def test_a_review_due_today_is_not_flagged_overdue_anywhere(rec, owner, coordinator, people):
    rec.plan(next_review=TODAY)
    page = visible_text(owner.get(url(people, "/reviews")))
    assert "The next review is due on 30 June 2026 (due today)" in page
    assert "The review is overdue" not in page
    summary = visible_text(coordinator.get(url(people, "/summary")))
    assert "Due today" in summary and "Overdue" not in summary
    caseload = visible_text(coordinator.get("/caseload"))
    assert "Overdue" not in caseload


def test_a_review_due_yesterday_is_flagged_overdue_for_everyone(rec, owner, coordinator, people):
    rec.plan(next_review=TODAY - timedelta(days=1))
    page = visible_text(owner.get(url(people, "/reviews")))
    assert "The review is overdue" in page
    assert "overdue by 1 day" in page
    summary = visible_text(coordinator.get(url(people, "/summary")))
    assert "Overdue" in summary and "Overdue by 1 day" in summary
    caseload = coordinator.get("/caseload").get_data(as_text=True)
    assert 'nhsuk-tag--red">Overdue<' in caseload
    prepare = visible_text(owner.get(url(people, "/prepare")))
    assert "overdue by 1 day" in prepare


# --- recording a review that was held -------------------------------------------------------


def review_form(held_on: date | None = TODAY, next_review: date | None = None, **overrides):
    data = {
        **date_fields("held_on", held_on),
        "participants": "Olive, Cara (carer), Cody (coordinator)",
        "agreed": "Add a second walk each week.",
        **date_fields("next_review", next_review),
    }
    data.update(overrides)
    return data


def test_the_review_form_starts_with_today_as_the_date_held(coordinator, people):
    page = coordinator.get(url(people, "/reviews/new"))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert re.search(r'name="held_on\[day\]"[^>]*value="30"', body)
    assert re.search(r'name="held_on\[month\]"[^>]*value="6"', body)
    assert re.search(r'name="held_on\[year\]"[^>]*value="2026"', body)


def test_recording_a_review_sets_the_next_review_from_the_interval(rec, coordinator, people):
    rec.plan(interval=6, next_review=date(2026, 7, 1))
    held_on = date(2026, 6, 25)
    response = send(coordinator, url(people, "/reviews/new"), review_form(held_on))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(url(people, "/plan"))
    [held] = rec.run(reviews.list_reviews, rec.id)
    assert held.held_on == held_on
    assert held.participants == "Olive, Cara (carer), Cody (coordinator)"
    assert held.agreed == "Add a second walk each week."
    assert held.recorded_by == people.coordinator_id
    assert held.next_review == date(2026, 12, 25)
    # The agreed date before the review is replaced by the new one.
    assert rec.get_plan().next_review == date(2026, 12, 25)
    assert rec.digest().next_review == date(2026, 12, 25)
    page = visible_text(coordinator.get(url(people, "/reviews")))
    assert "25 June 2026" in page and "Next review set for 25 December 2026" in page
    assert "The next review is due on 25 December 2026" in page


def test_recording_a_review_uses_the_next_review_date_given(rec, coordinator, people):
    response = send(
        coordinator,
        url(people, "/reviews/new"),
        review_form(TODAY, next_review=date(2026, 9, 30)),
    )
    assert response.status_code == 303
    assert rec.get_plan().next_review == date(2026, 9, 30)
    assert rec.run(reviews.last_review, rec.id).next_review == date(2026, 9, 30)


def test_a_twelve_month_interval_gives_a_review_a_year_on(rec, coordinator, people):
    send(coordinator, url(people, "/reviews/new"), review_form(date(2026, 2, 28)))
    assert rec.get_plan().next_review == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (review_form(held_on=None), "Enter the date of the review"),
        (review_form(held_on=TODAY + timedelta(days=1)), "must be today or in the past"),
        (review_form(**{"held_on[day]": "31", "held_on[month]": "2"}), "must be a real date"),
        (review_form(**{"held_on[year]": "26"}), "Year must include 4 numbers"),
        (review_form(participants="  "), "Enter who took part in the review"),
        (review_form(agreed=""), "Enter what was agreed"),
        (review_form(agreed="x" * 4001), "4,000 characters or fewer"),
        (
            review_form(next_review=TODAY - timedelta(days=1)),
            "The date of the next review must be today or in the future",
        ),
    ],
)
def test_recording_a_review_refuses_bad_input_and_stores_nothing(
    rec, coordinator, people, data, message
):
    before = rec.get_plan()
    response = send(coordinator, url(people, "/reviews/new"), data)
    assert_problem(response, message)
    assert rec.run(reviews.list_reviews, rec.id) == []
    assert rec.get_plan().version == before.version


@pytest.mark.parametrize("who", ["owner", "carer"])
def test_only_the_coordinator_records_a_review(request, rec, people, who):
    client = request.getfixturevalue(who)
    assert client.get(url(people, "/reviews/new")).status_code == 404
    assert send(client, url(people, "/reviews/new"), review_form()).status_code == 404
    assert rec.run(reviews.list_reviews, rec.id) == []


def test_another_coordinator_cannot_record_a_review(rec, app, people, login_as):
    from .conftest import make_account

    make_account(app, "other.coord@example.com", "Other Coordinator", coordinator=True)
    other = login_as("other.coord@example.com")
    assert other.get(url(people, "/reviews/new")).status_code == 404
    assert send(other, url(people, "/reviews/new"), review_form()).status_code == 404


def test_the_latest_review_held_starts_the_next_period(rec: Rec):
    assert rec.run(reviews.period_start, rec.id) == START
    rec.review(date(2026, 3, 1))
    rec.review(date(2026, 5, 20))
    rec.review(date(2026, 4, 2))  # recorded late; not the latest
    assert rec.run(reviews.period_start, rec.id) == date(2026, 5, 20)
    # A review recorded late does not pull the next one before the latest review's.
    assert rec.get_plan().next_review == date(2027, 5, 20)


# --- the charts on the coordinator's shared summary ---------------------------------------


def _charted(rec: Rec) -> trk.Tracker:
    """Mood and a breathlessness tracker, each with a trend statement and a chart."""
    breath = rec.tracker("Breathlessness", target_max=4)
    for n in range(7):
        rec.mood(days_before(40 + n), 2)
        rec.mood(days_before(n), 4)
        rec.reading(breath, days_before(40 + n), 4)
        rec.reading(breath, days_before(n), 7)
    assert {"trend-mood", f"trend-{breath.id}"} <= set(rec.statements())
    return breath


def _chart_titles(client: FlaskClient, people: People) -> list[str]:
    """The charts on the coordinator's summary page, by their headings."""
    body = client.get(url(people, "/summary")).get_data(as_text=True)
    charts = body.partition('id="heading-charts"')[2]
    return re.findall(r"<h3>([^<]+)</h3>\s*<p>[^<]*</p>\s*<svg", charts)


def _pdf_charts(client: FlaskClient, people: People) -> str:
    """The words of the summary PDF's charts section."""
    from .test_summaries import pdf_text

    text = pdf_text(client.get(url(people, "/summary.pdf")))
    assert "Charts for this period" in text
    return text.partition("Charts for this period")[2]


def _share(owner: FlaskClient, people: People, hide: tuple[str, ...] = ()) -> None:
    for key in hide:
        assert send(owner, url(people, f"/prepare/statements/{key}"), {"hide": "1"}).status_code
    assert send(owner, url(people, "/prepare/share")).status_code == 303


def test_the_coordinator_sees_a_chart_for_each_series_the_person_shared(
    rec, owner, coordinator, people
):
    _charted(rec)
    _share(owner, people)
    assert _chart_titles(coordinator, people) == ["Mood", "Breathlessness"]
    pdf = _pdf_charts(coordinator, people)
    assert "Mood" in pdf and "Breathlessness" in pdf


@pytest.mark.parametrize("hidden", ["trend-mood", "trend-{breath}", "hits-{breath}"])
def test_a_chart_about_a_hidden_statement_is_not_shown_to_the_coordinator(
    rec, owner, coordinator, people, hidden
):
    breath = _charted(rec)
    if hidden.startswith("hits-"):
        rec.hit(breath, days_before(3))
    key = hidden.format(breath=breath.id)
    _share(owner, people, hide=(key,))
    gone, kept = ("Mood", "Breathlessness") if key == "trend-mood" else ("Breathlessness", "Mood")
    assert _chart_titles(coordinator, people) == [kept]
    pdf = _pdf_charts(coordinator, people)
    assert kept in pdf
    assert gone not in pdf
    # The person still sees every chart on their own draft.
    body = owner.get(url(people, "/prepare")).get_data(as_text=True)
    assert "<h3>Mood</h3>" in body and "<h3>Breathlessness</h3>" in body


def test_a_chart_follows_the_persons_choice_after_sharing_too(rec, owner, coordinator, people):
    _charted(rec)
    _share(owner, people)
    assert send(owner, url(people, "/prepare/statements/trend-mood"), {"hide": "1"})
    assert _chart_titles(coordinator, people) == ["Breathlessness"]


@pytest.mark.parametrize(
    ("removed", "left"),
    [
        (Category.MOOD, ["Breathlessness"]),
        (Category.SYMPTOMS, ["Mood"]),
    ],
)
def test_a_chart_in_a_category_not_shared_with_the_coordinator_is_not_shown(
    rec, owner, coordinator, people, removed, left
):
    _charted(rec)
    _share(owner, people)
    member = next(
        m for m in rec.run(sharing.members_of_record, rec.id) if m.role is Role.COORDINATOR
    )
    assert rec.run(sharing.set_categories, rec.id, member.id, member.categories - {removed})
    assert _chart_titles(coordinator, people) == left
    pdf = _pdf_charts(coordinator, people)
    gone = "Mood" if removed is Category.MOOD else "Breathlessness"
    assert left[0] in pdf and gone not in pdf
