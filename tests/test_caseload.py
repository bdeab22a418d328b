"""The coordinator's caseload: one row per person, drawn from small per-person digests.

Each row shows the next review (overdue flagged), pending early review requests,
early warning signs since the coordinator last looked, and the last activity.
Rows sort by each column and filter to "needs attention". The page must not
open anyone's log (or the rest of their record) to draw this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from tracker import digests, plans, reviews, sharing
from tracker import trackers as trk
from tracker.logs import DiaryMark
from tracker.reviews import Reason, Urgency
from tracker.roles import Role
from tracker.store import Store

from . import test_reviews as base
from .conftest import People, make_account
from .factories import create_record
from .test_reviews import TODAY, Rec, at, visible_text

frozen = base.frozen
rec = base.rec
coordinator = base.coordinator
owner = base.owner


@dataclass
class Caseload:
    """Olive (the people fixture's record) and four more people on Cody's caseload."""

    olive: Rec
    aisha: Rec
    brian: Rec
    chloe: Rec
    david: Rec
    chloe_tracker: trk.Tracker


def add_person(rec: Rec, name: str) -> Rec:
    """A record Cody holds (no owner has joined it yet)."""
    people = rec.people
    coordinator_id = people.coordinator_id
    record = create_record(
        people.app, created_by=coordinator_id, name=name, members={coordinator_id: Role.COORDINATOR}
    )
    return Rec(
        People(
            people.app,
            owner_id=people.coordinator_id,
            record_id=record.id,
            carer_id=people.coordinator_id,
            coordinator_id=people.coordinator_id,
        )
    )


def ask(r: Rec) -> reviews.ReviewRequest:
    return r.run(
        reviews.request_review,
        r.id,
        reason=Reason.NOT_WORKING,
        what_changed="Things are not working",
        urgency=Urgency.WEEK,
        by=r.people.owner_id,
    )


@pytest.fixture
def caseload(rec: Rec) -> Caseload:
    olive = rec
    olive.plan(next_review=TODAY + timedelta(days=200))
    olive.mood(date(2026, 6, 20), 4)

    aisha = add_person(rec, "Aisha Khan")
    aisha.plan(next_review=TODAY - timedelta(days=3))  # overdue
    aisha_tracker = aisha.tracker("Pain", target_max=3)
    aisha.hit(aisha_tracker, date(2026, 6, 2))

    brian = add_person(rec, "Brian O'Connor")
    brian.plan(next_review=TODAY + timedelta(days=10))  # due soon
    brian.diary(date(2026, 5, 1), "A quiet month", DiaryMark.WORKING)
    ask(brian)
    ask(brian)

    chloe = add_person(rec, "Chloe Evans")
    chloe.plan(next_review=TODAY + timedelta(days=100))
    chloe_tracker = chloe.tracker("Breathlessness", target_max=4)
    for day in (25, 26, 27):
        chloe.hit(chloe_tracker, date(2026, 6, day))
    ask(chloe)

    david = add_person(rec, "David Okafor")  # no plan, nothing logged

    # Someone else's person is not on Cody's caseload.
    other = make_account(rec.app, "zoe.coord@example.com", "Zoe Coordinator", coordinator=True)
    create_record(
        rec.app, created_by=other.id, name="Zed Other", members={other.id: Role.COORDINATOR}
    )
    return Caseload(olive, aisha, brian, chloe, david, chloe_tracker)


def rows(response) -> list[dict[str, str]]:
    """The caseload table's rows as {column: text}."""
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    out = []
    for row in re.findall(r'<tr class="nhsuk-table__row">(.*?)</tr>', body, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        texts = [" ".join(re.sub(r"<[^>]+>", " ", c).replace("&#39;", "'").split()) for c in cells]
        link = re.search(r'href="([^"]+)"', cells[0])
        out.append(
            {
                "name": texts[0].removeprefix("Name "),
                "review": texts[1].removeprefix("Next review "),
                "requests": texts[2].removeprefix("Early review requests "),
                "warnings": texts[3].removeprefix("Early warning signs "),
                "activity": texts[4].removeprefix("Last activity "),
                "href": link.group(1) if link else "",
            }
        )
    return out


def by_name(response) -> dict[str, dict[str, str]]:
    return {r["name"].split(" Invitation")[0]: r for r in rows(response)}


def names(response) -> list[str]:
    return [r["name"].split(" Invitation")[0] for r in rows(response)]


def test_one_row_per_person_the_coordinator_holds(caseload: Caseload, coordinator):
    page = coordinator.get("/caseload")
    assert sorted(names(page)) == [
        "Aisha Khan",
        "Brian O'Connor",
        "Chloe Evans",
        "David Okafor",
        "Olive Owner",
    ]
    assert "Zed Other" not in page.get_data(as_text=True)
    assert "5 people, sorted by next review" in visible_text(page)


def test_each_row_shows_review_requests_warnings_and_activity(caseload: Caseload, coordinator):
    found = by_name(coordinator.get("/caseload"))
    assert found["Aisha Khan"]["review"] == "27 June 2026 Overdue"
    assert found["Brian O'Connor"]["review"] == "10 July 2026 Due soon"
    assert found["Chloe Evans"]["review"] == "8 October 2026"
    assert found["Olive Owner"]["review"] == "16 January 2027"
    assert found["David Okafor"]["review"] == "Not set"
    assert found["Brian O'Connor"]["requests"] == "2 waiting"
    assert found["Chloe Evans"]["requests"] == "1 waiting"
    assert found["Olive Owner"]["requests"] == "None"
    assert found["Chloe Evans"]["warnings"] == "3 new"
    assert found["Aisha Khan"]["warnings"] == "1 new"
    assert found["Olive Owner"]["warnings"] == "None new"
    assert found["Chloe Evans"]["activity"] == "27 June 2026"
    assert found["Olive Owner"]["activity"] == "20 June 2026"
    assert found["Brian O'Connor"]["activity"] == "1 May 2026"
    assert found["David Okafor"]["activity"] == "None yet"
    assert "Invitation not yet accepted" in found["David Okafor"]["name"]
    assert "Invitation not yet accepted" not in found["Olive Owner"]["name"]


def test_a_review_due_today_is_due_soon_not_overdue(caseload: Caseload, coordinator):
    caseload.olive.plan(next_review=TODAY)
    assert by_name(coordinator.get("/caseload"))["Olive Owner"]["review"] == "30 June 2026 Due soon"
    caseload.olive.plan(next_review=TODAY - timedelta(days=1))
    assert by_name(coordinator.get("/caseload"))["Olive Owner"]["review"] == "29 June 2026 Overdue"


def test_the_first_review_date_follows_from_the_plan_start(caseload: Caseload, coordinator):
    caseload.david.plan(start=date(2026, 3, 31))  # first review: 30 June, today
    assert by_name(coordinator.get("/caseload"))["David Okafor"]["review"] == (
        "30 June 2026 Due soon"
    )


def test_opening_a_row_leads_to_that_persons_summary(caseload: Caseload, coordinator):
    found = by_name(coordinator.get("/caseload"))
    for person in (caseload.aisha, caseload.olive):
        name = "Aisha Khan" if person is caseload.aisha else "Olive Owner"
        assert found[name]["href"] == f"/records/{person.id}/summary"
        assert coordinator.get(found[name]["href"]).status_code == 200


def test_opening_the_summary_resets_the_warning_signs_since_last_looked(
    caseload: Caseload, frozen, coordinator
):
    assert by_name(coordinator.get("/caseload"))["Chloe Evans"]["warnings"] == "3 new"
    coordinator.get(f"/records/{caseload.chloe.id}/summary")
    found = by_name(coordinator.get("/caseload"))
    assert found["Chloe Evans"]["warnings"] == "None new"
    assert found["Aisha Khan"]["warnings"] == "1 new"  # only the summary opened counts
    frozen.advance(minutes=10)
    # logged at 9:05am, before they looked
    caseload.chloe.hit(caseload.chloe_tracker, TODAY, logged=TODAY)
    assert by_name(coordinator.get("/caseload"))["Chloe Evans"]["warnings"] == "None new"
    frozen.advance(minutes=10)
    caseload.chloe.run(
        digests.note_activity, caseload.chloe.id, at=frozen.at.isoformat(), rule_hit=True
    )
    assert by_name(coordinator.get("/caseload"))["Chloe Evans"]["warnings"] == "1 new"


def test_warning_times_in_uk_time_compare_correctly_with_when_they_looked(
    caseload: Caseload, coordinator
):
    coordinator.get(f"/records/{caseload.chloe.id}/summary")  # looked at 12:00pm (11:00 UTC)
    # A hit logged at 11:30am UK time (10:30 UTC) came before they looked.
    caseload.chloe.run(
        digests.note_activity, caseload.chloe.id, at=at(TODAY, 11, 30).isoformat(), rule_hit=True
    )
    assert by_name(coordinator.get("/caseload"))["Chloe Evans"]["warnings"] == "None new"


def test_each_coordinator_has_their_own_last_looked(caseload: Caseload, coordinator, login_as):
    sue = make_account(caseload.olive.app, "second.coord@example.com", "Sue", coordinator=True)
    caseload.chloe.run(sharing.add_member, caseload.chloe.id, sue.id, Role.COORDINATOR)
    second = login_as("second.coord@example.com")
    coordinator.get(f"/records/{caseload.chloe.id}/summary")
    assert by_name(second.get("/caseload"))["Chloe Evans"]["warnings"] == "3 new"
    assert by_name(coordinator.get("/caseload"))["Chloe Evans"]["warnings"] == "None new"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Aisha Khan", "Brian O'Connor", "Chloe Evans", "David Okafor", "Olive Owner"]),
        # Soonest first; no date last.
        ("review", ["Aisha Khan", "Brian O'Connor", "Chloe Evans", "Olive Owner", "David Okafor"]),
        ("requests", ["Brian O'Connor", "Chloe Evans"]),  # most first; then the rest
        ("warnings", ["Chloe Evans", "Aisha Khan"]),
        (
            "activity",
            ["Chloe Evans", "Olive Owner", "Aisha Khan", "Brian O'Connor", "David Okafor"],
        ),
    ],
)
def test_rows_sort_by_each_column(caseload: Caseload, coordinator, sort, expected):
    page = coordinator.get(f"/caseload?sort={sort}")
    order = names(page)
    assert order[: len(expected)] == expected
    assert len(order) == 5
    body = page.get_data(as_text=True)
    assert re.search(r'<th scope="col" aria-sort="(ascending|descending)">', body)


def test_an_unknown_sort_falls_back_to_the_next_review(caseload: Caseload, coordinator):
    assert names(coordinator.get("/caseload?sort=evil")) == names(coordinator.get("/caseload"))


def test_the_needs_attention_filter(caseload: Caseload, coordinator):
    page = coordinator.get("/caseload?show=attention")
    # Overdue (Aisha), due soon and requests (Brian), requests and warnings (Chloe).
    assert names(page) == ["Aisha Khan", "Brian O'Connor", "Chloe Evans"]
    text = visible_text(page)
    assert "Needs attention (3)" in text and "Show everyone (5)" in text
    assert names(coordinator.get("/caseload?show=attention&sort=name")) == [
        "Aisha Khan",
        "Brian O'Connor",
        "Chloe Evans",
    ]
    everyone = visible_text(coordinator.get("/caseload"))
    assert "Show only people who need attention (3)" in everyone


def test_dealing_with_everything_empties_the_needs_attention_filter(
    caseload: Caseload, coordinator
):
    for person in (caseload.brian, caseload.chloe):
        for r in person.run(reviews.open_requests, person.id):
            person.run(reviews.answer_request, person.id, r.id, by="x", reply="Done")
    for person in (caseload.aisha, caseload.brian):
        person.plan(next_review=TODAY + timedelta(days=60))
    for person in (caseload.aisha, caseload.chloe):
        coordinator.get(f"/records/{person.id}/summary")
    page = coordinator.get("/caseload?show=attention")
    assert names(page) == []
    assert "Nobody needs attention right now." in visible_text(page)


def test_the_caseload_is_drawn_from_digests_without_opening_anyones_record(
    caseload: Caseload, coordinator, monkeypatch
):
    coordinator.get("/caseload")  # warm
    opened: list[str] = []
    real_read = Store.read

    def read(self, scope):
        opened.append(scope)
        return real_read(self, scope)

    def refuse(*args, **kwargs):
        raise AssertionError("the caseload opened a person's log")

    monkeypatch.setattr(Store, "list_entries", refuse)
    monkeypatch.setattr(Store, "get_entry", refuse)
    monkeypatch.setattr(Store, "buckets", refuse)
    monkeypatch.setattr(Store, "read", read)
    page = coordinator.get("/caseload")
    assert page.status_code == 200
    assert len(rows(page)) == 5
    record_scopes = [s for s in opened if s.startswith("records/")]
    assert record_scopes, "expected the per-person digests to be read"
    assert all(s.endswith("/digest") for s in record_scopes), record_scopes
    assert len(record_scopes) == 5


def test_the_digest_follows_what_is_written(caseload: Caseload):
    david = caseload.david
    assert david.digest() == digests.Digest(None, 0, "", (), {})
    david.plan(start=date(2026, 5, 1))
    assert david.digest().next_review == date(2026, 8, 1)
    ask(david)
    assert david.digest().open_requests == 1
    david.mood(date(2026, 6, 29), 3)
    assert david.digest().last_activity == "2026-06-29T08:00:00+00:00"  # 9am UK time, in UTC
    david.review(date(2026, 6, 29))
    assert david.digest().next_review == date(2027, 6, 29)
    assert david.digest().open_requests == 0


def test_only_coordinators_have_a_caseload(caseload: Caseload, owner):
    assert owner.get("/caseload").status_code == 404


def test_a_coordinator_whose_access_ends_no_longer_sees_the_person(caseload: Caseload, coordinator):
    brian = caseload.brian
    [member] = [
        m for m in brian.run(sharing.members_of_record, brian.id) if m.role is Role.COORDINATOR
    ]
    assert brian.run(sharing.revoke_member, brian.id, member.id)
    assert "Brian O'Connor" not in names(coordinator.get("/caseload"))


def test_the_plan_change_updates_the_caseload_at_once(caseload: Caseload, coordinator):
    caseload.chloe.run(
        plans.save_review_arrangements,
        caseload.chloe.id,
        by="x",
        start_date=None,
        next_review=TODAY + timedelta(days=1),
        interval_months=6,
    )
    assert by_name(coordinator.get("/caseload"))["Chloe Evans"]["review"] == "1 July 2026 Due soon"
