"""Logging through the forms: mood, the ONS4 wellbeing questions, and what every entry kind shares.

Every entry kind is created, changed and deleted through its form as the person
or the carer would (a plain POST, a 303, the change visible on the next page), and
the files on disk are read directly to check what is really stored. The other
logging test files import the helpers and fixtures defined at the top of this one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from tracker import clock, logs, settings, sharing, trackers
from tracker.actions import Owner, Repeat, Schedule
from tracker.clock import LONDON
from tracker.roles import Category
from tracker.trackers import TrackerKind

from .conftest import People, make_account, send, text_of, url
from .factories import create_action, create_goal, create_person, create_tracker

# --- helpers shared by the logging tests ---------------------------------------------


def log_dir(app: Flask, record_id: str) -> Path:
    return Path(app.config["TRACKER_DATA_DIR"]) / "records" / record_id


def log_files(app: Flask, record_id: str) -> list[Path]:
    return sorted(log_dir(app, record_id).glob("log-*.json"))


def disk_entries(app: Flask, record_id: str, kind: str | None = None) -> list[dict]:
    """Every log entry of the record as the month files on disk hold it now."""
    out: list[dict] = []
    for path in log_files(app, record_id):
        out.extend(json.loads(path.read_bytes()).get("entries", {}).values())
    return [e for e in out if kind is None or e["kind"] == kind]


def disk_bytes(app: Flask, record_id: str) -> bytes:
    """All of the record's files (log months, plan, trackers, digest), raw."""
    return b"".join(p.read_bytes() for p in sorted(log_dir(app, record_id).rglob("*.json")))


def only(items: list):
    assert len(items) == 1, items
    return items[0]


def assert_refused(response, message: str | None = None) -> None:
    """A 422 that says what is wrong (error summary or the field's error message)."""
    body = text_of(response)
    assert response.status_code == 422, (response.status_code, body[:400])
    assert "nhsuk-error-message" in body or "nhsuk-error-summary" in body
    if message is not None:
        assert message in body, f"{message!r} not in the page"


def local(dt: datetime) -> str:
    """A time as a phone's datetime-local box sends it (UK time, to the minute)."""
    return dt.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")


def uk(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


class Clock:
    """tracker.clock.now under a test's control."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
        self.at = at
        monkeypatch.setattr(clock, "now", lambda: self.at)

    def set(self, at: datetime) -> None:
        self.at = at


def in_app(app: Flask, fn, *args, **kwargs):
    with app.app_context():
        return fn(*args, **kwargs)


@dataclass
class Extras:
    """Things on the record to log against: trackers of each kind, a goal, an action."""

    scale: str
    number: str
    yes_no: str
    count: str
    goal: str
    action: str


def add_extras(app: Flask, record_id: str) -> Extras:
    def tracker(name: str, kind: TrackerKind, **fields) -> str:
        return create_tracker(app, record_id, name=name, kind=kind, **fields).id

    scale = tracker("Pain", TrackerKind.SCALE, low_label="None", high_label="Worst")
    number = tracker("Weight", TrackerKind.NUMBER, unit="kg")
    yes_no = tracker("Chest infection", TrackerKind.YES_NO)
    count = tracker("Falls", TrackerKind.COUNT)
    goal = create_goal(app, record_id, by="test", outcome="To walk to the shop")
    action = create_action(
        app,
        record_id,
        goal_id=goal.id,
        what="Walk with Cara",
        owner=Owner.CARER,
        schedule=Schedule(Repeat.DAILY, clock.today() - timedelta(days=30)),
    )
    return Extras(scale, number, yes_no, count, goal.id, action.id)


@dataclass
class Stranger:
    """Someone else's record, with a tracker, goal and action of its own."""

    record_id: str
    owner_id: str
    extras: Extras


def add_stranger(app: Flask) -> Stranger:
    other, record = create_person(app, "stranger@example.com", "Stan Stranger")
    return Stranger(record.id, other.id, add_extras(app, record.id))


@pytest.fixture
def extras(people: People) -> Extras:
    return add_extras(people.app, people.record_id)


@pytest.fixture
def stranger(people: People) -> Stranger:
    return add_stranger(people.app)


# --- every kind: create, change, delete by its author ------------------------------


@dataclass(frozen=True)
class KindCase:
    """How one kind of entry is made through its form, and changed afterwards."""

    name: str
    kind: str
    author: str  # "owner" or "carer"
    path: str  # under the record; {scale} etc. name trackers
    create: dict
    edit: dict
    created_words: str
    edited_words: str


CASES = [
    KindCase(
        "mood",
        "mood",
        "owner",
        "/mood",
        {"score": "2", "note": "Tired after the clinic"},
        {"score": "4", "note": "Better after a rest"},
        "Tired after the clinic",
        "Better after a rest",
    ),
    KindCase(
        "scale reading",
        "reading",
        "owner",
        "/symptoms/{scale}",
        {"value": "6", "note": "Knee again"},
        {"value": "3", "note": "Knee easing"},
        "Knee again",
        "Knee easing",
    ),
    KindCase(
        "number reading",
        "reading",
        "owner",
        "/symptoms/{number}",
        {"value": "72.5", "note": "Before breakfast"},
        {"value": "71.9", "note": "After breakfast"},
        "Before breakfast",
        "After breakfast",
    ),
    KindCase(
        "yes/no reading",
        "reading",
        "owner",
        "/symptoms/{yes_no}",
        {"answer": "1", "note": "Green phlegm"},
        {"answer": "0", "note": "False alarm"},
        "Green phlegm",
        "False alarm",
    ),
    KindCase(
        "count reading",
        "reading",
        "owner",
        "/symptoms/{count}",
        {"value": "2", "note": "Both in the kitchen"},
        {"value": "1", "note": "Only one in the end"},
        "Both in the kitchen",
        "Only one in the end",
    ),
    KindCase(
        "diary",
        "diary",
        "owner",
        "/diary/new",
        {"text": "The walking group felt too fast today.", "mark": "not_working"},
        {"text": "The walking group was fine after all.", "mark": "working"},
        "The walking group felt too fast today.",
        "The walking group was fine after all.",
    ),
    KindCase(
        "support given",
        "support",
        "carer",
        "/support/new",
        {"kind": "given", "what": "Helped with a shower", "minutes": "40"},
        {"kind": "given", "what": "Helped with a bath", "minutes": "55"},
        "Helped with a shower",
        "Helped with a bath",
    ),
    KindCase(
        "support missed",
        "support",
        "carer",
        "/support/new",
        {"kind": "missed", "what": "Morning visit", "reason": "pa_on_leave"},
        {"kind": "missed", "what": "Evening visit", "reason": "other", "reason_text": "Snow"},
        "Morning visit",
        "Evening visit",
    ),
    KindCase(
        "support observation",
        "support",
        "carer",
        "/support/new",
        {"kind": "observation", "what": "Seemed more breathless on the stairs"},
        {"kind": "observation", "what": "Breathless on the stairs, better by evening"},
        "Seemed more breathless on the stairs",
        "Breathless on the stairs, better by evening",
    ),
    KindCase(
        "care event",
        "event",
        "carer",
        "/events/new",
        {"event": "a_and_e", "note": "Fell in the garden"},
        {"event": "ambulance", "note": "Ambulance after a fall in the garden"},
        "Fell in the garden",
        "Ambulance after a fall in the garden",
    ),
]
CASE_IDS = [c.name for c in CASES]


def _path(case: KindCase, people: People, extras: Extras) -> str:
    return url(people, case.path.format(**extras.__dict__))


def _client(case: KindCase, owner, carer):
    return owner if case.author == "owner" else carer


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_each_kind_is_created_through_its_form_and_shown_in_the_history(
    case, people, extras, owner, carer
):
    client = _client(case, owner, carer)

    response = send(client, _path(case, people, extras), case.create)

    assert response.status_code == 303, text_of(response)[:500]
    entry = only(disk_entries(people.app, people.record_id, case.kind))
    assert entry["author_id"] == (people.owner_id if case.author == "owner" else people.carer_id)
    assert case.created_words in json.dumps(entry["data"])
    assert case.created_words in text_of(owner.get(url(people, "/history")))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_each_kind_is_changed_by_its_author_and_the_old_words_are_gone(
    case, people, extras, owner, carer
):
    client = _client(case, owner, carer)
    send(client, _path(case, people, extras), case.create)
    entry = only(disk_entries(people.app, people.record_id, case.kind))
    edit_url = url(people, f"/entries/{entry['id']}/edit")
    assert client.get(edit_url).status_code == 200

    response = send(client, edit_url, case.edit)

    assert response.status_code == 303, text_of(response)[:800]
    changed = only(disk_entries(people.app, people.record_id, case.kind))
    assert changed["id"] == entry["id"]
    assert case.edited_words in json.dumps(changed["data"])
    assert case.created_words.encode() not in disk_bytes(people.app, people.record_id)
    history = text_of(owner.get(url(people, "/history")))
    assert case.edited_words in history
    assert case.created_words not in history


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_each_kind_is_deleted_by_its_author_and_its_words_leave_the_disk(
    case, people, extras, owner, carer
):
    client = _client(case, owner, carer)
    send(client, _path(case, people, extras), case.create)
    entry = only(disk_entries(people.app, people.record_id, case.kind))
    delete_url = url(people, f"/entries/{entry['id']}/delete")
    confirm = client.get(delete_url)
    assert confirm.status_code == 200
    assert case.created_words in text_of(confirm)
    assert case.created_words.encode() in disk_bytes(people.app, people.record_id)

    response = send(client, delete_url)

    assert response.status_code == 303
    assert disk_entries(people.app, people.record_id, case.kind) == []
    # Not in the month file, nor anywhere else the record keeps.
    for path in log_files(people.app, people.record_id):
        assert case.created_words.encode() not in path.read_bytes(), path.name
    assert case.created_words.encode() not in disk_bytes(people.app, people.record_id)
    assert case.created_words not in text_of(owner.get(url(people, "/history")))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("who", ["other_member", "coordinator"])
def test_only_the_author_can_change_or_delete_an_entry(
    case, who, people, extras, owner, carer, coordinator, login_as
):
    author = _client(case, owner, carer)
    send(author, _path(case, people, extras), case.create)
    entry = only(disk_entries(people.app, people.record_id, case.kind))
    # The carer for the person's own entries, the person for the carer's; or the coordinator.
    other = (carer if case.author == "owner" else owner) if who == "other_member" else coordinator
    edit_url = url(people, f"/entries/{entry['id']}/edit")
    delete_url = url(people, f"/entries/{entry['id']}/delete")

    assert other.get(edit_url).status_code == 404
    assert send(other, edit_url, case.edit).status_code == 404
    assert other.get(delete_url).status_code == 404
    assert send(other, delete_url).status_code == 404

    assert only(disk_entries(people.app, people.record_id, case.kind))["data"] == entry["data"]


def test_an_entry_of_another_record_cannot_be_changed_or_deleted_through_mine(
    people, owner, stranger
):
    with people.app.app_context():
        theirs = logs.write_diary(stranger.record_id, author_id=people.owner_id, text="Not mine")
    for suffix in (f"/entries/{theirs}/edit", f"/entries/{theirs}/delete"):
        assert owner.get(url(people, suffix)).status_code == 404
        assert send(owner, url(people, suffix), {"text": "Hijacked"}).status_code == 404
    assert only(disk_entries(people.app, stranger.record_id, "diary"))["data"]["text"] == "Not mine"


@pytest.mark.parametrize("entry_id", ["nonsense", "202611-abcdef", "209912-abcdef", "../x"])
def test_unknown_entry_ids_are_404(people, owner, entry_id):
    assert owner.get(url(people, f"/entries/{entry_id}/edit")).status_code == 404
    assert send(owner, url(people, f"/entries/{entry_id}/delete")).status_code == 404


def test_rule_hits_and_action_marks_cannot_be_changed_as_entries(people, owner):
    with people.app.app_context():
        hit = logs.log(
            people.record_id,
            logs.Kind.RULE_HIT,
            author_id=people.owner_id,
            data={"tracker_id": "x", "tracker_name": "Pain", "day": "2026-11-01", "rule": "r"},
        )
    assert owner.get(url(people, f"/entries/{hit}/edit")).status_code == 404
    assert send(owner, url(people, f"/entries/{hit}/delete")).status_code == 404


# --- who may log what ----------------------------------------------------------------

PERSON_ONLY = [
    ("/mood", {"score": "3"}),
    ("/diary/new", {"text": "Carers cannot write in my diary"}),
    ("/symptoms/{scale}", {"value": "5"}),
    ("/trackers/new", {"name": "Sleep", "kind": "number", "unit": "hours"}),
    ("/wellbeing/settings", {"ons4": "on"}),
]


@pytest.mark.parametrize(("path", "data"), PERSON_ONLY, ids=[p for p, _ in PERSON_ONLY])
@pytest.mark.parametrize("who", ["carer", "coordinator"])
def test_only_the_person_logs_mood_symptoms_and_diary(
    path, data, who, people, extras, carer, coordinator
):
    client = carer if who == "carer" else coordinator
    target = url(people, path.format(**extras.__dict__))

    assert send(client, target, data).status_code == 404
    assert disk_entries(people.app, people.record_id) == []
    with people.app.app_context():
        assert len(trackers.list_trackers(people.record_id)) == 4
        assert settings.get(people.record_id).ons4 is False


@pytest.mark.parametrize(
    ("path", "data", "kind"),
    [
        ("/support/new", {"kind": "given", "what": "Shopping", "minutes": "30"}, "support"),
        ("/events/new", {"event": "out_of_hours_gp", "note": "Called 111"}, "event"),
    ],
)
def test_the_carer_and_the_person_log_support_and_events_and_the_coordinator_cannot(
    path, data, kind, people, owner, carer, coordinator
):
    assert send(coordinator, url(people, path), data).status_code == 404
    assert coordinator.get(url(people, path)).status_code == 404
    assert disk_entries(people.app, people.record_id) == []

    assert send(carer, url(people, path), data).status_code == 303
    assert send(owner, url(people, path), data).status_code == 303
    authors = sorted(e["author_id"] for e in disk_entries(people.app, people.record_id, kind))
    assert authors == sorted([people.carer_id, people.owner_id])


def test_someone_who_is_not_a_member_gets_404_on_every_logging_page(app, people, extras):
    make_account(app, "nobody@example.com", "No Body")
    from .conftest import sign_in

    client = app.test_client()
    assert sign_in(client, "nobody@example.com").status_code == 303
    for path in (
        "/mood",
        "/wellbeing",
        "/symptoms",
        f"/symptoms/{extras.scale}/log",
        "/diary",
        "/diary/new",
        "/support",
        "/support/new",
        "/events/new",
        "/history",
        "/trends",
        "/trackers/new",
    ):
        assert client.get(url(people, path)).status_code == 404, path
    assert send(client, url(people, "/mood"), {"score": "3"}).status_code == 404
    assert disk_entries(app, people.record_id) == []


def test_signed_out_visitors_are_sent_to_sign_in_and_nothing_is_logged(app, people):
    client = app.test_client()
    response = send(client, url(people, "/mood"), {"score": "3"})
    assert response.status_code in (302, 303)
    assert "/sign-in" in response.headers["Location"]
    assert disk_entries(app, people.record_id) == []


# --- mood -----------------------------------------------------------------------------


def test_mood_page_offers_five_faces_with_words(people, owner):
    body = text_of(owner.get(url(people, "/mood")))
    for words in ("Very low", "Low", "Okay", "Good", "Very good"):
        assert f"<span>{words}</span>" in body
    assert body.count('class="app-face"') == 5
    assert body.count('name="score"') == 5


def test_mood_check_in_with_htmx_answers_with_the_fragment_only(people, owner):
    response = send(owner, url(people, "/mood"), {"score": "4"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "HX-Request" in response.headers.get("Vary", "")
    body = text_of(response)
    assert body.lstrip().startswith('<section id="mood-checkin"')
    assert "<html" not in body
    assert "You said: good" in body
    assert only(disk_entries(people.app, people.record_id, "mood"))["data"]["score"] == 4


def test_mood_check_in_without_htmx_redirects_back_to_the_page_it_came_from(people, owner):
    today = url(people, "/today")
    response = send(owner, url(people, "/mood"), {"score": "1", "next": today})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(today)
    assert "Saved: you are feeling very low." in text_of(owner.get(today))


def test_several_mood_check_ins_a_day_are_all_kept(people, owner):
    for score in ("2", "3", "5"):
        assert send(owner, url(people, "/mood"), {"score": score}).status_code == 303
    scores = sorted(e["data"]["score"] for e in disk_entries(people.app, people.record_id, "mood"))
    assert scores == [2, 3, 5]


@pytest.mark.parametrize("score", ["0", "6", "-1", "3.5", "nan", "inf", "", "very good", "1e3"])
def test_a_mood_score_outside_one_to_five_is_refused(people, owner, score):
    response = send(owner, url(people, "/mood"), {"score": score})
    assert_refused(response, "Select how you are feeling")
    assert disk_entries(people.app, people.record_id) == []


def test_a_mood_score_refused_through_htmx_comes_back_as_the_fragment_with_the_message(
    people, owner
):
    response = send(owner, url(people, "/mood"), {"score": "9"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    body = text_of(response)
    assert body.lstrip().startswith('<section id="mood-checkin"')
    assert "Select how you are feeling" in body
    assert disk_entries(people.app, people.record_id) == []


def test_an_over_long_mood_note_is_refused(people, owner):
    response = send(owner, url(people, "/mood"), {"score": "3", "note": "x" * (logs.MAX_NOTE + 1)})
    assert_refused(response, "1,000 characters or fewer")
    assert disk_entries(people.app, people.record_id) == []


def test_the_coordinator_sees_mood_but_cannot_check_in(people, owner, coordinator):
    send(owner, url(people, "/mood"), {"score": "2", "note": "Low day"})
    page = coordinator.get(url(people, "/mood"))
    assert page.status_code == 200
    assert "Low day" in text_of(page)
    assert 'name="score"' not in text_of(page)
    assert send(coordinator, url(people, "/mood"), {"score": "5"}).status_code == 404
    assert len(disk_entries(people.app, people.record_id, "mood")) == 1


def test_the_carer_does_not_see_mood_until_it_is_shared(people, owner, carer):
    send(owner, url(people, "/mood"), {"score": "2", "note": "Low day"})
    assert carer.get(url(people, "/mood")).status_code == 404
    assert "Low day" not in text_of(carer.get(url(people, "/history")))
    _share(people, people.carer_id, {Category.MOOD})
    assert "Low day" in text_of(carer.get(url(people, "/mood")))
    assert "Low day" in text_of(carer.get(url(people, "/history")))


def _share(people: People, user_id: str, extra: set[Category], drop: set[Category] = frozenset()):
    """Change what a member sees (as the sharing page does)."""
    with people.app.app_context():
        member = sharing.membership_for(user_id, people.record_id)
        cats = (member.categories | extra) - drop
        assert sharing.set_categories(people.record_id, member.id, frozenset(cats))


# --- the ONS personal wellbeing questions (ONS4) -----------------------------------

ONS4_ANSWERS = {"satisfied": "7", "worthwhile": "8", "happy": "6", "anxious": "3"}


def test_the_wellbeing_questions_are_off_by_default_and_answers_are_refused(people, owner):
    page = owner.get(url(people, "/wellbeing"))
    assert page.status_code == 200
    body = text_of(page)
    assert "Ask me these questions each week" in body
    assert 'name="satisfied"' not in body
    assert "(turned off)" in text_of(owner.get(url(people, "/mood")))

    response = send(owner, url(people, "/wellbeing"), ONS4_ANSWERS)

    assert response.status_code == 422
    assert "once a week" in text_of(response)
    assert disk_entries(people.app, people.record_id) == []


def test_the_wellbeing_questions_are_turned_on_asked_and_answered(people, owner):
    response = send(owner, url(people, "/wellbeing/settings"), {"ons4": "on"})
    assert response.status_code == 303
    assert in_app(people.app, settings.get, people.record_id).ons4 is True
    body = text_of(owner.get(url(people, "/wellbeing")))
    for _, question in logs.ONS4_QUESTIONS:
        assert question in body

    response = send(owner, url(people, "/wellbeing"), ONS4_ANSWERS)

    assert response.status_code == 303
    entry = only(disk_entries(people.app, people.record_id, "wellbeing"))
    assert entry["data"] == {"satisfied": 7, "worthwhile": 8, "happy": 6, "anxious": 3}
    assert "Life satisfaction 7, worthwhile 8, happiness 6, anxiety 3" in text_of(
        owner.get(url(people, "/history"))
    )


def test_the_wellbeing_questions_cite_the_ons(people, owner):
    for on in ("off", "on"):
        send(owner, url(people, "/wellbeing/settings"), {"ons4": on})
        body = text_of(owner.get(url(people, "/wellbeing")))
        assert logs.ONS4_CITATION in body
        assert "Office for National Statistics" in body


def test_the_wellbeing_questions_are_asked_at_most_weekly(people, owner, monkeypatch):
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    now = Clock(monkeypatch, start)
    send(owner, url(people, "/wellbeing/settings"), {"ons4": "on"})
    assert send(owner, url(people, "/wellbeing"), ONS4_ANSWERS).status_code == 303

    for later in (timedelta(minutes=1), timedelta(days=6, hours=23, minutes=59)):
        now.set(start + later)
        page = text_of(owner.get(url(people, "/wellbeing")))
        assert "You have answered this week" in page
        assert "9 November 2026 at 9:00am" in page
        response = send(owner, url(people, "/wellbeing"), {**ONS4_ANSWERS, "happy": "2"})
        assert response.status_code == 422
        assert "You can answer the wellbeing questions once a week." in text_of(response)
        assert len(disk_entries(people.app, people.record_id, "wellbeing")) == 1

    now.set(start + timedelta(days=7, minutes=1))
    assert send(owner, url(people, "/wellbeing"), {**ONS4_ANSWERS, "happy": "2"}).status_code == 303
    assert len(disk_entries(people.app, people.record_id, "wellbeing")) == 2


def test_the_wellbeing_questions_can_be_turned_off_again(people, owner):
    send(owner, url(people, "/wellbeing/settings"), {"ons4": "on"})
    send(owner, url(people, "/wellbeing/settings"), {"ons4": "off"})
    assert in_app(people.app, settings.get, people.record_id).ons4 is False
    assert send(owner, url(people, "/wellbeing"), ONS4_ANSWERS).status_code == 422
    assert disk_entries(people.app, people.record_id) == []


@pytest.mark.parametrize(
    "bad", [{"happy": "11"}, {"happy": "-1"}, {"happy": "5.5"}, {"happy": ""}, {"happy": "nan"}]
)
def test_wellbeing_answers_outside_nought_to_ten_are_refused(people, owner, bad):
    send(owner, url(people, "/wellbeing/settings"), {"ons4": "on"})
    response = send(owner, url(people, "/wellbeing"), {**ONS4_ANSWERS, **bad})
    assert_refused(response)
    assert "There is a problem" in text_of(response)
    assert disk_entries(people.app, people.record_id) == []


def test_wellbeing_answers_are_not_shown_to_the_carer_unless_mood_is_shared(people, owner, carer):
    send(owner, url(people, "/wellbeing/settings"), {"ons4": "on"})
    send(owner, url(people, "/wellbeing"), ONS4_ANSWERS)
    assert "Life satisfaction" not in text_of(carer.get(url(people, "/history")))
    assert carer.get(url(people, "/wellbeing")).status_code == 404


# --- bad input on every form ---------------------------------------------------------

HUGE = "9" * 400
FUTURE = "2099-01-01T09:00"


def _future_local(minutes: int) -> str:
    return local(clock.now() + timedelta(minutes=minutes))


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("/symptoms/{number}", {"value": "NaN"}, "must be a number"),
        ("/symptoms/{number}", {"value": "nan"}, "must be a number"),
        ("/symptoms/{number}", {"value": "inf"}, "must be a number"),
        ("/symptoms/{number}", {"value": "-inf"}, "must be a number"),
        ("/symptoms/{number}", {"value": "Infinity"}, "must be a number"),
        ("/symptoms/{number}", {"value": "1e309"}, "must be a number"),
        ("/symptoms/{number}", {"value": "1e5"}, "must be a number"),
        ("/symptoms/{number}", {"value": HUGE}, "must be a number"),
        ("/symptoms/{number}", {"value": "100001"}, "Enter a number from -100000 to 100000"),
        ("/symptoms/{number}", {"value": "seventy"}, "must be a number"),
        ("/symptoms/{number}", {"value": "72,5"}, "must be a number"),
        ("/symptoms/{number}", {"value": "0x10"}, "must be a number"),
        ("/symptoms/{number}", {"value": ""}, "Enter the reading"),
        ("/symptoms/{number}", {"value": "   "}, "Enter the reading"),
        ("/symptoms/{scale}", {"value": "11"}, "Enter a number from 0 to 10"),
        ("/symptoms/{scale}", {"value": "-1"}, "Enter a number from 0 to 10"),
        ("/symptoms/{scale}", {"value": "5.5"}, "Enter a whole number"),
        ("/symptoms/{scale}", {"value": "NaN"}, "must be a number"),
        ("/symptoms/{count}", {"value": "2.5"}, "Enter a whole number"),
        ("/symptoms/{count}", {"value": "-1"}, "Enter a number from 0 to 1000"),
        ("/symptoms/{count}", {"value": "1001"}, "Enter a number from 0 to 1000"),
        ("/symptoms/{yes_no}", {"answer": "2"}, "Select yes or no"),
        ("/symptoms/{yes_no}", {"answer": ""}, "Select yes or no"),
        ("/symptoms/{yes_no}", {"answer": "yes"}, "Select yes or no"),
        ("/symptoms/{scale}", {"value": "4", "when": FUTURE}, "cannot be in the future"),
        ("/symptoms/{scale}", {"value": "4", "when": "yesterday"}, "Enter a date and time"),
        ("/symptoms/{scale}", {"value": "4", "when": "1999-12-31T23:00"}, "2000 or later"),
        ("/symptoms/{scale}", {"value": "4", "note": "n" * 1001}, "1,000 characters or fewer"),
        ("/diary/new", {"text": ""}, "Write something in your diary entry"),
        ("/diary/new", {"text": "   \n  "}, "Write something in your diary entry"),
        ("/diary/new", {"text": "d" * 5001}, "5,000 characters or fewer"),
        ("/diary/new", {"text": "Fine", "when": FUTURE}, "cannot be in the future"),
        ("/diary/new", {"text": "Fine", "mark": "brilliant"}, "working, not working or neither"),
        ("/diary/new", {"text": "Fine", "goal_id": "nope"}, "Select a goal from the list"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_stored(
    people, extras, owner, path, data, message
):
    before = disk_bytes(people.app, people.record_id)

    response = send(owner, url(people, path.format(**extras.__dict__)), data)

    assert_refused(response, message)
    assert disk_entries(people.app, people.record_id) == []
    assert disk_bytes(people.app, people.record_id) == before


@pytest.mark.parametrize("minutes", [6, 60, 60 * 24 * 400])
def test_a_time_more_than_five_minutes_ahead_is_refused_on_every_form_with_a_time(
    people, extras, owner, carer, minutes
):
    when = _future_local(minutes)
    for client, path, data in (
        (owner, f"/symptoms/{extras.scale}", {"value": "4"}),
        (owner, "/diary/new", {"text": "From the future"}),
        (carer, "/support/new", {"kind": "observation", "what": "From the future"}),
        (carer, "/events/new", {"event": "a_and_e"}),
    ):
        response = send(client, url(people, path), {**data, "when": when})
        assert_refused(response, "cannot be in the future")
    assert disk_entries(people.app, people.record_id) == []


def test_a_time_a_few_minutes_ahead_is_allowed_for_a_phone_whose_clock_runs_fast(people, owner):
    # A datetime-local box has minutes only; 3 minutes ahead is within the 5 allowed.
    response = send(owner, url(people, "/diary/new"), {"text": "Fast", "when": _future_local(3)})
    assert response.status_code == 303


def test_the_domain_refuses_what_the_forms_refuse(people):
    with people.app.app_context():
        rid, who = people.record_id, people.owner_id
        for call in (
            lambda: logs.record_mood(rid, author_id=who, score=0),
            lambda: logs.record_mood(rid, author_id=who, score=True),
            lambda: logs.record_mood(rid, author_id=who, score=3.0),
            lambda: logs.record_reading(rid, author_id=who, tracker_id="t", value=float("nan")),
            lambda: logs.record_reading(rid, author_id=who, tracker_id="t", value=float("inf")),
            lambda: logs.record_reading(rid, author_id=who, tracker_id="t", value="7"),
            lambda: logs.write_diary(rid, author_id=who, text=""),
            lambda: logs.write_diary(rid, author_id=who, text="x" * 5001),
            lambda: logs.write_diary(
                rid, author_id=who, text="x", occurred_at=clock.now() + timedelta(minutes=6)
            ),
            lambda: logs.write_diary(
                rid, author_id=who, text="x", occurred_at=datetime(2026, 1, 1)
            ),
            lambda: logs.record_wellbeing(rid, author_id=who, answers={"happy": 5}),
            lambda: logs.record_support(
                rid, author_id=who, kind=logs.SupportKind.MISSED, what="Visit"
            ),
            lambda: logs.record_support(
                rid, author_id=who, kind=logs.SupportKind.GIVEN, what="Visit", minutes=-5
            ),
        ):
            with pytest.raises(logs.InvalidEntry):
                call()
    assert disk_entries(people.app, people.record_id) == []


# --- shown escaped ------------------------------------------------------------------

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_text_in_every_kind_is_shown_escaped(people, extras, owner, carer):
    send(owner, url(people, "/diary/new"), {"text": SCRIPT})
    send(owner, url(people, "/mood"), {"score": "3", "note": SCRIPT})
    send(owner, url(people, f"/symptoms/{extras.scale}"), {"value": "3", "note": SCRIPT})
    send(carer, url(people, "/support/new"), {"kind": "observation", "what": SCRIPT})
    send(carer, url(people, "/events/new"), {"event": "bereavement", "note": SCRIPT})
    assert len(disk_entries(people.app, people.record_id)) == 5

    for path in ("/history", "/diary", "/mood", "/symptoms", "/support"):
        raw = owner.get(url(people, path)).get_data(as_text=True)
        assert "<script>alert" not in raw, path
        assert "<img src=x" not in raw, path
        assert "&lt;script&gt;alert(" in raw, path


def test_a_tracker_name_with_markup_is_escaped_on_every_page_and_in_the_chart(people, owner):
    with people.app.app_context():
        t = trackers.define_tracker(
            people.record_id, name="<b>Pain</b> & ache", kind=TrackerKind.SCALE
        )
        logs.record_reading(people.record_id, author_id=people.owner_id, tracker_id=t.id, value=4)
    for path in ("/symptoms", "/trends", "/history", f"/symptoms/{t.id}/log", "/today"):
        raw = owner.get(url(people, path)).get_data(as_text=True)
        assert "<b>Pain</b>" not in raw, path
    assert re.search(
        r"&lt;b&gt;Pain&lt;/b&gt; &amp;(amp;)? ache chart",
        owner.get(url(people, "/trends")).get_data(as_text=True),
    )


# --- rules the view keeps -----------------------------------------------------------


def test_a_reading_logged_against_another_persons_tracker_is_404_and_not_stored(
    people, owner, stranger
):
    for tracker_id in (stranger.extras.scale, stranger.extras.number):
        response = send(owner, url(people, f"/symptoms/{tracker_id}"), {"value": "5"})
        assert response.status_code == 404
        assert owner.get(url(people, f"/symptoms/{tracker_id}/log")).status_code == 404
    # Nor through their record, which I am not a member of.
    response = send(
        owner, f"/records/{stranger.record_id}/symptoms/{stranger.extras.scale}", {"value": "5"}
    )
    assert response.status_code == 404
    assert disk_entries(people.app, people.record_id) == []
    assert disk_entries(people.app, stranger.record_id) == []


def test_a_diary_entry_about_another_persons_goal_is_refused_and_not_stored(
    people, extras, owner, stranger
):
    response = send(
        owner,
        url(people, "/diary/new"),
        {"text": "About their goal", "goal_id": stranger.extras.goal},
    )
    assert_refused(response, "Select a goal from the list")
    assert disk_entries(people.app, people.record_id) == []


def test_a_stored_entry_keeps_only_the_fields_of_its_kind(people, extras, owner, carer):
    send(
        carer,
        url(people, "/support/new"),
        {
            "kind": "given",
            "what": "Cooked tea",
            "minutes": "30",
            "reason": "carer_unwell",
            "reason_text": "should not be kept",
            "extra": "ignored",
        },
    )
    entry = only(disk_entries(people.app, people.record_id, "support"))
    assert entry["data"] == {
        "kind": "given",
        "what": "Cooked tea",
        "minutes": 30,
        "action_id": None,
        "reason": None,
        "reason_text": "",
    }
    assert "extra" not in json.dumps(entry)


def test_times_are_stored_in_utc_whatever_time_zone_they_were_typed_in(people, owner):
    # 23:30 UK summer time on 1 June is 22:30 UTC.
    send(owner, url(people, "/diary/new"), {"text": "Late", "when": "2026-06-01T23:30"})
    entry = only(disk_entries(people.app, people.record_id, "diary"))
    assert entry["occurred_at"] == "2026-06-01T22:30:00+00:00"
    assert "1 June 2026 at 11:30pm" in text_of(owner.get(url(people, "/history")))


def test_wellbeing_answers_are_changed_and_deleted_by_the_person_only(
    people, owner, carer, coordinator
):
    send(owner, url(people, "/wellbeing/settings"), {"ons4": "on"})
    send(owner, url(people, "/wellbeing"), ONS4_ANSWERS)
    entry = only(disk_entries(people.app, people.record_id, "wellbeing"))
    edit, delete = (url(people, f"/entries/{entry['id']}/{a}") for a in ("edit", "delete"))
    assert f"/entries/{entry['id']}/edit" in text_of(owner.get(url(people, "/history")))
    for other in (carer, coordinator):
        assert other.get(edit).status_code == 404
        assert send(other, delete).status_code == 404

    assert_refused(send(owner, edit, {**ONS4_ANSWERS, "happy": "11"}), "from 0 to 10")
    response = send(owner, edit, {**ONS4_ANSWERS, "happy": "9"})

    assert response.status_code == 303
    changed = only(disk_entries(people.app, people.record_id, "wellbeing"))
    assert changed["data"] == {"satisfied": 7, "worthwhile": 8, "happy": 9, "anxious": 3}
    assert changed["occurred_at"] == entry["occurred_at"]
    assert send(owner, delete).status_code == 303
    assert disk_entries(people.app, people.record_id, "wellbeing") == []
