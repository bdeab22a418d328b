"""Arbitrary input at every logging form: never a server error, nothing invalid stored.

Hypothesis fills in the mood check-in, the wellbeing questions, a reading for each
kind of tracker, the diary, the support log, care events, the tracker definition,
the change-an-entry form and the share-an-entry form with anything at all (NaN,
infinity, 1e309, unicode digits, control characters, huge strings, missing
fields). After each example every stored entry and tracker is checked against
the rules in docs/trends-and-warnings.md, and every data file must still parse.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import (
    clock,
    create_app,
    logs,
    trackers,
)
from tracker.actions import Owner, Repeat, Schedule
from tracker.records import record_scope
from tracker.store import Store, clear_cache, get_store
from tracker.trackers import RuleKind, TrackerKind

from .conftest import PASSWORD
from .factories import (
    create_action,
    create_goal,
    create_people,
    create_record,
    create_tracker,
)

EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ALLOWED_STATUS = {200, 303, 404, 422}

# --- what people might send ----------------------------------------------------------------

NASTY = [
    "",
    " ",
    "0",
    "-0",
    "1",
    "5",
    "10",
    "11",
    "-1",
    "5.5",
    "72.125",
    "72.1255",
    "1e1",
    "1e309",
    "-1e309",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "0x10",
    "1_000",
    "１０",  # full-width digits
    "٣",  # Arabic-Indic digit
    "²",
    "\x00",
    "\ufeff7",
    "💩",
    "<script>alert(1)</script>",
    "{{ 7 * 7 }}",
    "99999999999999999999999999",
    "9999999.999",
    "100000",
    "100001",
    "-100000.001",
    "1440",
    "1441",
    "2026-11-20T10:30",
    "2099-01-01T00:00",
    "1999-12-31T23:59",
    "2026-02-30T10:00",
    "2026-03-29T01:30",  # a UK time that does not exist
    "2026-10-25T01:30",  # a UK time that happens twice
    "working",
    "not_working",
    "given",
    "missed",
    "observation",
    "other",
    "a_and_e",
    "discharge",
    "scale",
    "yes_no",
    "at_least_for_days",
    "rise_within_days",
    "any_yes",
]
anything = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=30),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.builds(
        lambda c, n: c * n, st.sampled_from(["x", "é", "9", " ", "\n"]), st.integers(0, 6000)
    ),
)


def when_value() -> st.SearchStrategy[str]:
    """A datetime-local value: near now (some a few minutes ahead), far away, or junk."""
    near = st.integers(-60 * 24 * 400, 60 * 24).map(
        lambda m: (clock.now() + timedelta(minutes=m)).astimezone(clock.LONDON)
    )
    return st.one_of(
        near.map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
        st.datetimes().map(lambda d: d.isoformat()[:16]),
        anything,
    )


def near(**plausible: st.SearchStrategy) -> st.SearchStrategy[dict]:
    """A plausible form, then up to three fields swapped for anything at all or left out."""

    @st.composite
    def build(draw) -> dict:
        data = {name: draw(strategy) for name, strategy in plausible.items()}
        for name in draw(st.sets(st.sampled_from(sorted(plausible)), max_size=3)):
            if draw(st.booleans()):
                data[name] = draw(anything)
            else:
                del data[name]
        return data

    return build()


def words(limit: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["", "   ", "A plain note", "  padded  ", "x" * limit, "x" * (limit + 1)]),
        st.text(max_size=30),
    )


def choice(*values: str) -> st.SearchStrategy[str]:
    return st.sampled_from([*values, "", "something-else"])


number_text = st.one_of(
    st.sampled_from(NASTY),
    st.integers(-2, 1002).map(str),
    st.decimals(min_value=-200_000, max_value=200_000, places=3).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


# --- one app for the whole module ------------------------------------------------------------


@dataclass
class World:
    app: Flask
    data_dir: Path
    record_id: str
    owner_id: str
    carer_id: str
    coordinator_id: str
    other_goal: str
    other_action: str
    goal_id: str
    action_id: str
    tracker_ids: dict[str, str]
    owner: FlaskClient
    carer: FlaskClient
    tokens: dict[int, str]

    def post(self, client: FlaskClient, path: str, data: dict):
        body = {k: v for k, v in data.items() if v is not None}
        body["csrf_token"] = self.tokens[id(client)]
        response = client.post(f"/records/{self.record_id}{path}", data=body)
        assert response.status_code in ALLOWED_STATUS, (path, data, response.status_code)
        return response


def _signed_in(app: Flask, email: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    html = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post(
        "/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    html = client.get("/sign-in").get_data(as_text=True)
    return client, re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def no_fsync() -> Iterator[None]:
    """Skip fsync here: these tests are about what is accepted, not about surviving a
    power cut (tests/test_store_torture.py is), and on a busy disk the waits for
    fsync took most of this file's time."""
    real = os.fsync
    os.fsync = lambda fd: None
    try:
        yield
    finally:
        os.fsync = real


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, no_fsync: None) -> Iterator[World]:
    clear_cache()
    root = tmp_path_factory.mktemp("logging-property")
    app = create_app(
        {
            "ENV_NAME": "test",
            "TRACKER_DATA_DIR": str(root / "data"),
            "WTF_CSRF_ENABLED": True,
            "RATELIMIT_ENABLED": False,
        }
    )
    app.instance_path = str(root / "instance")
    people = create_people(app)
    rid, by = people.record_id, people.owner_id
    other = create_record(app, created_by=by, name="Someone Else")
    other_goal = create_goal(app, other.id, by=by, outcome="Theirs")
    other_action = create_action(
        app,
        other.id,
        goal_id=other_goal.id,
        what="Theirs",
        schedule=Schedule(Repeat.DAILY, clock.today()),
    )
    goal = create_goal(app, rid, by=by, outcome="To walk to the shop")
    action = create_action(
        app,
        rid,
        goal_id=goal.id,
        what="Walk with Cara",
        owner=Owner.CARER,
        schedule=Schedule(Repeat.DAILY, clock.today() - timedelta(days=30)),
    )
    tracker_ids = {
        kind.value: create_tracker(app, rid, name=f"T {kind.value}", kind=kind, unit="kg").id
        for kind in TrackerKind
    }
    old = create_tracker(app, rid, name="Old")
    with app.app_context():
        trackers.set_archived(rid, old.id, True)
    owner_client, owner_token = _signed_in(app, "owner@example.com")
    carer_client, carer_token = _signed_in(app, "carer@example.com")
    yield World(
        app=app,
        data_dir=root / "data",
        record_id=people.record_id,
        owner_id=people.owner_id,
        carer_id=people.carer_id,
        coordinator_id=people.coordinator_id,
        other_goal=other_goal.id,
        other_action=other_action.id,
        goal_id=goal.id,
        action_id=action.id,
        tracker_ids=tracker_ids,
        owner=owner_client,
        carer=carer_client,
        tokens={id(owner_client): owner_token, id(carer_client): carer_token},
    )
    clear_cache()


# --- what may be stored ----------------------------------------------------------------------


def _check_text(value, limit: int, *, required: bool = False) -> None:
    assert isinstance(value, str)
    assert len(value) <= limit
    assert value == value.strip()
    if required:
        assert value


def check_everything(world: World) -> None:
    """Every stored entry and tracker keeps the rules, and every file parses."""
    with world.app.app_context():
        store = get_store()
        tracker_docs = {
            d["id"]: d for d in store.read(record_scope(world.record_id)).all("trackers")
        }
        entries = logs.raw_entries(world.record_id)
        members = {world.carer_id, world.coordinator_id}
    latest = clock.now() + logs.FUTURE_SLACK
    for doc in tracker_docs.values():
        check_tracker(doc)
    for e in entries:
        kind = logs.Kind(e["kind"])
        when = datetime.fromisoformat(e["occurred_at"])
        assert when.tzinfo is not None
        assert e["occurred_at"].endswith("+00:00"), "times are stored in UTC"
        assert datetime(2000, 1, 1, tzinfo=clock.LONDON) <= when <= latest, e
        assert set(e["shared_with"]) <= members
        if e["shared_with"]:
            assert kind is logs.Kind.DIARY
        d = e["data"]
        if kind is logs.Kind.MOOD:
            assert type(d["score"]) is int and 1 <= d["score"] <= 5, e
            _check_text(d["note"], logs.MAX_NOTE)
        elif kind is logs.Kind.WELLBEING:
            assert set(d) == {"satisfied", "worthwhile", "happy", "anxious"}
            assert all(type(v) is int and 0 <= v <= 10 for v in d.values()), e
        elif kind is logs.Kind.READING:
            tracker = trackers.Tracker.from_doc(tracker_docs[d["tracker_id"]])
            value = d["value"]
            assert type(value) in (int, float) and math.isfinite(value), e
            low, high = tracker.bounds
            assert low <= value <= high, e
            if tracker.whole_numbers:
                assert float(value).is_integer(), e
            _check_text(d["note"], logs.MAX_NOTE)
        elif kind is logs.Kind.DIARY:
            _check_text(d["text"], logs.MAX_DIARY, required=True)
            assert d["mark"] in (None, "working", "not_working")
            assert d["goal_id"] in (None, world.goal_id)
        elif kind is logs.Kind.SUPPORT:
            assert d["kind"] in {k.value for k in logs.SupportKind}
            _check_text(d["what"], logs.MAX_NOTE, required=True)
            assert d["action_id"] in (None, world.action_id)
            if d["kind"] == "given":
                assert d["minutes"] is None or (
                    type(d["minutes"]) is int and 1 <= d["minutes"] <= 1440
                )
            else:
                assert d["minutes"] is None
            if d["kind"] == "missed":
                assert d["reason"] in {r.value for r in logs.MissedReason}
                _check_text(d["reason_text"], 200, required=d["reason"] == "other")
            else:
                assert (d["reason"], d["reason_text"]) == (None, "")
        elif kind is logs.Kind.EVENT:
            assert d["event"] in {t.value for t in logs.EventType}
            _check_text(d["note"], logs.MAX_NOTE)
        elif kind is logs.Kind.RULE_HIT:
            assert d["tracker_id"] in tracker_docs
    assert Store(world.data_dir).check_all() == []


def check_tracker(doc: dict) -> None:
    _check_text(doc["name"], 60, required=True)
    kind = TrackerKind(doc["kind"])
    _check_text(doc["unit"], 20)
    _check_text(doc["low_label"], 40)
    _check_text(doc["high_label"], 40)
    if kind is not TrackerKind.NUMBER:
        assert doc["unit"] == ""
    if kind is not TrackerKind.SCALE:
        assert doc["low_label"] == doc["high_label"] == ""
    for end in ("target_min", "target_max"):
        value = doc[end]
        assert value is None or (isinstance(value, float) and math.isfinite(value)), doc
        assert value is None or abs(value) < 10**7
    if doc["target_min"] is not None and doc["target_max"] is not None:
        assert doc["target_min"] <= doc["target_max"]
    rule = doc["rule"]
    if rule is not None:
        rule_kind = RuleKind(rule["kind"])
        assert math.isfinite(rule["value"]) and abs(rule["value"]) < 10**7
        assert type(rule["days"]) is int and 1 <= rule["days"] <= 14
        if rule_kind is RuleKind.ANY_YES:
            assert kind is TrackerKind.YES_NO


# --- the forms -------------------------------------------------------------------------------

mood_form = near(score=choice("1", "2", "3", "4", "5"), note=words(logs.MAX_NOTE))


@EXAMPLES
@given(data=mood_form, htmx=st.booleans())
def test_arbitrary_mood_check_ins(world, data, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    body = {k: v for k, v in data.items() if v is not None}
    body["csrf_token"] = world.tokens[id(world.owner)]
    response = world.owner.post(f"/records/{world.record_id}/mood", data=body, headers=headers)
    assert response.status_code in ALLOWED_STATUS
    check_everything(world)


ons4 = st.one_of(st.integers(-2, 12).map(str), anything)


@EXAMPLES
@given(
    on=st.sampled_from(["on", "off", "", "yes"]),
    data=near(satisfied=ons4, worthwhile=ons4, happy=ons4, anxious=ons4),
)
def test_arbitrary_wellbeing_answers(world, on, data):
    world.post(world.owner, "/wellbeing/settings", {"ons4": on})
    world.post(world.owner, "/wellbeing", data)
    check_everything(world)
    with world.app.app_context():
        answers = logs.entries(world.record_id, kinds=[logs.Kind.WELLBEING])
    # At most weekly: no two answers within 7 days of each other.
    times = sorted(e.occurred_at for e in answers)
    assert all(b - a >= timedelta(days=7) for a, b in itertools.pairwise(times))


@EXAMPLES
@given(
    kind=st.sampled_from([*TrackerKind, "archived", "missing"]),
    data=near(
        value=number_text,
        answer=choice("0", "1"),
        when=when_value(),
        note=words(logs.MAX_NOTE),
    ),
)
def test_arbitrary_readings_for_each_kind_of_tracker(world, kind, data):
    if kind == "archived":
        with world.app.app_context():
            tracker_id = next(
                t.id
                for t in trackers.list_trackers(world.record_id, include_archived=True)
                if t.archived
            )
    elif kind == "missing":
        tracker_id = "nope12345678"
    else:
        tracker_id = world.tracker_ids[kind.value]
    response = world.post(world.owner, f"/symptoms/{tracker_id}", data)
    if kind in ("archived", "missing"):
        assert response.status_code == 404
    check_everything(world)


@EXAMPLES
@given(
    data=near(
        text=words(logs.MAX_DIARY),
        when=when_value(),
        mark=choice("working", "not_working"),
        goal_id=st.sampled_from(["", "GOAL", "OTHER", "nope"]),
    )
)
def test_arbitrary_diary_entries(world, data):
    goal = {"GOAL": world.goal_id, "OTHER": world.other_goal}
    if data.get("goal_id") in goal:
        data["goal_id"] = goal[data["goal_id"]]
    world.post(world.owner, "/diary/new", data)
    check_everything(world)


@EXAMPLES
@given(
    data=near(
        kind=choice("given", "missed", "observation"),
        what=words(logs.MAX_NOTE),
        when=when_value(),
        minutes=st.one_of(st.integers(-1, 1500).map(str), st.just("")),
        action_id=st.sampled_from(["", "ACTION", "OTHER", "nope"]),
        reason=choice("carer_unwell", "pa_on_leave", "other"),
        reason_text=words(200),
    ),
    as_owner=st.booleans(),
)
def test_arbitrary_support_log_entries(world, data, as_owner):
    action = {"ACTION": world.action_id, "OTHER": world.other_action}
    if data.get("action_id") in action:
        data["action_id"] = action[data["action_id"]]
    world.post(world.owner if as_owner else world.carer, "/support/new", data)
    check_everything(world)


@EXAMPLES
@given(
    data=near(
        event=choice(*[e.value for e in logs.EventType]),
        when=when_value(),
        note=words(logs.MAX_NOTE),
    )
)
def test_arbitrary_care_events(world, data):
    world.post(world.carer, "/events/new", data)
    check_everything(world)


tracker_form = near(
    name=words(60),
    kind=choice(*[k.value for k in TrackerKind]),
    unit=words(20),
    low_label=words(40),
    high_label=words(40),
    target_min=number_text,
    target_max=number_text,
    rule_kind=choice(*[r.value for r in RuleKind]),
    rule_value=number_text,
    rule_days=st.one_of(st.integers(-1, 16).map(str), st.just("")),
)


@EXAMPLES
@given(data=tracker_form, edit=st.sampled_from([None, *TrackerKind]))
def test_arbitrary_tracker_definitions_and_changes(world, data, edit):
    if edit is None:
        world.post(world.owner, "/trackers/new", data)
    else:
        tracker_id = world.tracker_ids[edit.value]
        world.post(world.owner, f"/trackers/{tracker_id}/edit", data)
        with world.app.app_context():
            assert trackers.get_tracker(world.record_id, tracker_id).kind is edit
    check_everything(world)


def _entries_to_change(world: World) -> dict[str, tuple[FlaskClient, str]]:
    """One entry of each kind, made through the forms the first time round."""
    with world.app.app_context():
        found = {}
        for e in logs.raw_entries(world.record_id):
            key = e["kind"] if e["kind"] != "reading" else f"reading-{e['data']['tracker_id']}"
            found.setdefault(key, e)
    need = {
        "mood": (world.owner, "/mood", {"score": "3"}),
        "diary": (world.owner, "/diary/new", {"text": "To be changed"}),
        "support": (world.carer, "/support/new", {"kind": "given", "what": "To be changed"}),
        "event": (world.carer, "/events/new", {"event": "a_and_e"}),
        **{
            f"reading-{tid}": (
                world.owner,
                f"/symptoms/{tid}",
                {"answer": "0"} if kind == "yes_no" else {"value": "1"},
            )
            for kind, tid in world.tracker_ids.items()
        },
    }
    for key, (client, path, data) in need.items():
        if key not in found:
            assert world.post(client, path, data).status_code in (200, 303)
    if "wellbeing" not in found:  # the weekly limit may refuse the form: set one up directly
        with world.app.app_context():
            logs.record_wellbeing(
                world.record_id,
                author_id=world.owner_id,
                answers={"satisfied": 5, "worthwhile": 5, "happy": 5, "anxious": 5},
            )
    with world.app.app_context():
        out = {}
        for e in logs.raw_entries(world.record_id):
            if e["kind"] in ("rule_hit", "action"):
                continue
            key = e["kind"] if e["kind"] != "reading" else f"reading-{e['data']['tracker_id']}"
            client = world.carer if e["author_id"] == world.carer_id else world.owner
            out.setdefault(key, (client, e["id"]))
    return out


@EXAMPLES
@given(
    which=st.sampled_from(
        ["mood", "wellbeing", "diary", "support", "event", *[f"r-{k.value}" for k in TrackerKind]]
    ),
    data=near(
        score=choice("1", "5"),
        satisfied=ons4,
        worthwhile=ons4,
        happy=ons4,
        anxious=ons4,
        note=words(logs.MAX_NOTE),
        value=number_text,
        answer=choice("0", "1"),
        text=words(logs.MAX_DIARY),
        mark=choice("working", "not_working"),
        goal_id=st.sampled_from(["", "nope"]),
        kind=choice("given", "missed", "observation"),
        what=words(logs.MAX_NOTE),
        minutes=st.one_of(st.integers(-1, 1500).map(str), st.just("")),
        reason=choice("carer_unwell", "other"),
        reason_text=words(200),
        event=choice("a_and_e", "discharge"),
        when=when_value(),
    ),
    wrong_author=st.booleans(),
)
def test_arbitrary_changes_to_entries(world, which, data, wrong_author):
    targets = _entries_to_change(world)
    if which.startswith("r-"):
        which = f"reading-{world.tracker_ids[which[2:]]}"
    client, entry_id = targets[which]
    if wrong_author:
        client = world.carer if client is world.owner else world.owner
    response = world.post(client, f"/entries/{entry_id}/edit", data)
    if wrong_author:
        assert response.status_code == 404
    check_everything(world)


@EXAMPLES
@given(
    members=st.lists(
        st.sampled_from(["CARER", "COORD", "OWNER", "nobody", "", "<x>", "\x00"]), max_size=5
    ),
    extra=st.dictionaries(st.sampled_from(["members", "shared_with"]), anything, max_size=2),
    as_carer=st.booleans(),
)
def test_arbitrary_sharing_of_one_entry(world, members, extra, as_carer):
    targets = _entries_to_change(world)
    _, diary_id = targets["diary"]
    ids = {"CARER": world.carer_id, "COORD": world.coordinator_id, "OWNER": world.owner_id}
    chosen = [ids.get(m, m) for m in members]
    data = {**extra, "members": chosen} if chosen else dict(extra)
    client = world.carer if as_carer else world.owner
    response = world.post(client, f"/entries/{diary_id}/share", data)
    if as_carer:
        assert response.status_code == 404
    check_everything(world)
    # A non-diary entry can never be shared.
    _, mood_id = targets["mood"]
    assert (
        world.post(
            world.owner, f"/entries/{mood_id}/share", {"members": [world.carer_id]}
        ).status_code
        == 404
    )
