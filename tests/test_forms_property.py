"""Arbitrary input at every form of the plan, goals and actions, and at sign-up and sign-in.

Whatever arrives (unicode, control characters, huge strings, NaN, infinity, 1e309,
nothing at all, missing fields), the answer is never a server error, nothing
invalid is stored, and every data file can still be read afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import accounts, actions, clock, create_app, goals, logs, plans
from tracker.actions import Outcome, Owner, Repeat, Schedule
from tracker.goals import GoalStatus
from tracker.records import record_scope
from tracker.store import Store, clear_cache, get_store

from .conftest import PASSWORD, TEMPLATES
from .factories import create_action, create_goal, create_person

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# --- what people might send -------------------------------------------------------------

NASTY = [
    "",
    " ",
    "0",
    "-0",
    "1",
    "10",
    "11",
    "-1",
    "5.5",
    "1e1",
    "1e309",
    "-1e309",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "0x10",
    "１０",  # full-width digits
    "٣",  # Arabic-Indic digit
    "²",
    "\x00",
    "\x1b[31m",
    "\u202egnp.exe",
    "\ufeff7",
    "💩",
    "<script>alert(1)</script>",
    "{{ 7 * 7 }}",
    "'; DROP TABLE goals; --",
    "2026-02-30",
    "99999999999999999999999999",
    "£-5",
    "1,2,3",
    "12:60",
    "24:00",
    "on_hold",
    "done",
    "me",
    "weekly",
]
text_value = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=20),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.builds(
        lambda c, n: c * n, st.sampled_from(["x", "é", "9", " ", "\n"]), st.integers(0, 70_000)
    ),
)


def fields(*names: str) -> st.SearchStrategy[dict[str, str]]:
    """Any of these fields, each possibly missing, each holding anything."""
    return st.fixed_dictionaries({}, optional={name: text_value for name in names})


def near(
    *groups: st.SearchStrategy[dict], **plausible: st.SearchStrategy
) -> st.SearchStrategy[dict]:
    """A form filled in plausibly (right up to and just past each limit), then with a few
    fields swapped for anything at all or left out: one bad field among good ones is
    where a missing check shows. ``groups`` fill several fields at once (a date's boxes)."""

    @st.composite
    def build(draw) -> dict:
        data = {name: draw(strategy) for name, strategy in plausible.items()}
        for group in groups:
            data.update(draw(group))
        for name in draw(st.sets(st.sampled_from(sorted(plausible)), max_size=3)):
            if draw(st.booleans()):
                data[name] = draw(text_value)
            else:
                del data[name]
        return data

    return build()


def words(limit: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            ["", "   ", "Walk to the shop", "  padded  ", "x" * limit, "x" * (limit + 1)]
        ),
        st.text(max_size=30),
    )


def choice(*values: str) -> st.SearchStrategy[str]:
    return st.sampled_from([*values, "", "other-thing"])


score = st.one_of(st.integers(-2, 13).map(str), st.sampled_from(["", "5.5", "ten", " 7 "]))
money = st.one_of(
    st.sampled_from(
        ["", "0", "0.00", "0.01", "125.50", "£1,250.50", "10000000", "10000000.01", "-5", "1.999"]
    ),
    st.decimals(min_value=-100, max_value=10**8, places=3).map(str),
)
phone = st.sampled_from(["", "01632 960 004", "+44 (0)1632 960001", "12", "0" * 21, "call me"])
email = st.one_of(st.emails().map(str), st.sampled_from(["", "jo@", "not-an-email", "a@b.c"]))


def date_fields(*names: str) -> list[str]:
    return [f"{n}[{p}]" for n in names for p in ("day", "month", "year")]


def date_near(name: str) -> st.SearchStrategy[dict[str, str]]:
    """Day, month and year boxes: real dates up to two years either side of today, or
    boxes that are nearly right (day 0 or 32, month 13, a 2-digit year, one left empty)."""
    today = clock.today()
    real = st.dates(today - timedelta(days=730), today + timedelta(days=730)).map(
        lambda d: {"day": str(d.day), "month": str(d.month), "year": str(d.year)}
    )
    nearly = st.fixed_dictionaries(
        {
            "day": st.one_of(st.integers(-1, 32).map(str), st.just("")),
            "month": st.one_of(st.integers(0, 13).map(str), st.just("")),
            "year": st.sampled_from(["", str(today.year), "26", "1899", "2101"]),
        }
    )
    return st.one_of(real, nearly).map(lambda parts: {f"{name}[{p}]": v for p, v in parts.items()})


# --- one app for the whole module -------------------------------------------------------


@dataclass
class World:
    app: Flask
    record_id: str
    owner_id: str
    goal_id: str
    action_id: str
    owner: FlaskClient
    token: str

    def post(self, path: str, data: dict, client: FlaskClient | None = None, token: str = ""):
        body = {**data, "csrf_token": token or self.token}
        return (client or self.owner).post(path, data=body)


def _token(client: FlaskClient) -> str:
    html = client.get("/sign-in").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match
    return match.group(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    clear_cache()
    root = tmp_path_factory.mktemp("forms-property")
    app = create_app(
        {
            "ENV_NAME": "test",
            "TRACKER_DATA_DIR": str(root / "data"),
            "WTF_CSRF_ENABLED": True,
            # The forms are under test here, not the limits on sign-in attempts.
            "RATELIMIT_ENABLED": False,
        }
    )
    app.instance_path = str(root / "instance")
    app.jinja_env.bytecode_cache = TEMPLATES
    # What is stored is under test here, not whether it survives a power cut: without
    # fsync the examples run several times faster on a busy machine.
    patch = pytest.MonkeyPatch()
    patch.setattr("tracker.store.os.fsync", lambda fd: None)
    owner, record = create_person(app, "owner@example.com", "Olive Owner")
    goal = create_goal(app, record.id, by=owner.id)
    schedule = Schedule(Repeat.DAILY, clock.today() - timedelta(days=30))
    action = create_action(app, record.id, goal_id=goal.id, what="Walk", schedule=schedule)
    client = app.test_client()
    token = _token(client)
    response = client.post(
        "/sign-in",
        data={"email": "owner@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    yield World(app, record.id, owner.id, goal.id, action.id, client, _token(client))
    patch.undo()
    assert Store(app.config["TRACKER_DATA_DIR"]).check_all() == []
    clear_cache()


def _answered(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    # 413: more than the 1 MB a request may carry.
    assert response.status_code in {200, 303, 404, 413, 422}, response.status_code


# --- what may be stored -------------------------------------------------------------------


def _is_score(value, low: int = 1, high: int = 10) -> bool:
    return value is None or (type(value) is int and low <= value <= high)


def _is_date(value) -> bool:
    if value is None:
        return True
    d = date.fromisoformat(value)
    return 1900 <= d.year <= 2100


def check_everything_stored_is_valid(world: World) -> None:
    with world.app.app_context():
        view = get_store().read(record_scope(world.record_id))
        plan = view.get(plans.TABLE, plans.PLAN_ID)
        if plan is not None:
            for key, text in plan["sections"].items():
                assert key in plans.SECTIONS
                assert isinstance(text, str) and 0 < len(text) <= plans.MAX_TEXT
                assert text == text.strip()
            assert type(plan["review_interval_months"]) is int
            assert 1 <= plan["review_interval_months"] <= 12
            for key in ("start_date", "next_review", "signed_off_on"):
                assert _is_date(plan[key]), plan[key]
            for key in ("start_date", "signed_off_on"):
                assert plan[key] is None or date.fromisoformat(plan[key]) <= clock.today()
            assert isinstance(plan["signed_off_by"], str) and len(plan["signed_off_by"]) <= 200
            budget = plan["budget"]
            for amount in [budget["total"], *(line["amount"] for line in budget["lines"])]:
                if amount is not None:
                    value = Decimal(amount)
                    assert value.is_finite() and 0 < value <= 10_000_000
                    assert -value.as_tuple().exponent <= 2
            assert budget["held"] in {None, *plans.BudgetHeld}
            for line in budget["lines"]:
                assert 0 < len(line["what"]) <= 200
            for contact in plan["contacts"]:
                assert contact["name"] and len(contact["name"]) <= 100
                assert contact["role"] in set(plans.ContactRole)
                assert len(contact["detail"]) <= 100
                assert contact["phone"] == "" or re.fullmatch(
                    r"\+?[0-9 ()-]{6,20}", contact["phone"]
                )
                assert contact["email"] == "" or "@" in contact["email"]
                assert len(contact["email"]) <= 254
            # And it still reads back as a plan, with its history.
            plans.get_plan(world.record_id)
            plans.history(world.record_id)

        for goal in view.all(goals.TABLE):
            assert isinstance(goal["outcome"], str) and goal["outcome"].strip()
            assert len(goal["outcome"]) <= goals.MAX_OUTCOME
            assert len(goal["need"]) <= goals.MAX_TEXT and len(goal["measure"]) <= goals.MAX_TEXT
            assert _is_score(goal["importance"]), goal["importance"]
            assert goal["status"] in set(GoalStatus)
            for event in goal["timeline"]:
                assert event["status"] in set(GoalStatus)
                assert isinstance(event["note"], str) and len(event["note"]) <= goals.MAX_TEXT
            for note in goal.get("notes", []):
                assert note["text"].strip() and len(note["text"]) <= goals.MAX_TEXT
            goals.Goal.from_doc(goal)

        goal_ids = {g["id"] for g in view.all(goals.TABLE)}
        for action in view.all(actions.TABLE):
            assert action["goal_id"] in goal_ids
            assert action["what"].strip() and len(action["what"]) <= actions.MAX_WHAT
            assert action["owner"] in set(Owner)
            assert _is_score(action["confidence"]), action["confidence"]
            if action["owner"] != Owner.ME:
                assert action["confidence"] is None
            if action["owner"] == Owner.OTHER:
                assert action["owner_name"].strip()
            for key in ("support_needed", "barriers", "strategies"):
                assert len(action[key]) <= actions.MAX_TEXT
            schedule = Schedule.from_doc(action["schedule"])
            assert 1900 <= schedule.start.year <= 2100
            assert schedule.until is None or schedule.until >= schedule.start
            assert _is_score(schedule.interval, 1, 52)
            assert all(type(d) is int and 0 <= d <= 6 for d in schedule.weekdays)
            schedule.occurrences(schedule.start, schedule.start + timedelta(days=60))

        for entry in logs.raw_entries(world.record_id, kinds=[logs.Kind.ACTION]):
            data = entry["data"]
            assert data["outcome"] in set(Outcome)
            assert date.fromisoformat(data["day"]) <= clock.today()
            assert isinstance(data["note"], str) and len(data["note"]) <= 500


# --- the plan -----------------------------------------------------------------------------


@EXAMPLES
@given(group=st.sampled_from(sorted(plans.GROUPS)), data=st.data())
def test_any_input_to_a_plan_section_form_is_answered_and_only_valid_text_is_stored(
    world, group, data
):
    names = [s.key for s in plans.GROUPS[group][1]]
    values = data.draw(
        st.one_of(
            near(**{name: words(plans.MAX_TEXT) for name in names}),
            fields(*names, "unknown_section"),
        )
    )
    _answered(world.post(f"/records/{world.record_id}/plan/{group}", values))
    check_everything_stored_is_valid(world)


@EXAMPLES
@given(
    values=st.one_of(
        near(date_near("start_date"), date_near("next_review"), interval=score),
        fields(*date_fields("start_date", "next_review"), "interval"),
    )
)
def test_any_input_to_review_arrangements_is_answered_and_only_valid_dates_are_stored(
    world, values
):
    _answered(world.post(f"/records/{world.record_id}/plan/review-arrangements", values))
    check_everything_stored_is_valid(world)


@EXAMPLES
@given(
    values=st.one_of(
        near(date_near("signed_off_on"), signed_off_by=words(200)),
        fields(*date_fields("signed_off_on"), "signed_off_by"),
    )
)
def test_any_input_to_the_sign_off_form_is_answered(world, values):
    _answered(world.post(f"/records/{world.record_id}/plan/sign-off", values))
    check_everything_stored_is_valid(world)


@EXAMPLES
@given(
    values=st.one_of(
        near(
            name=words(100),
            role=choice(*[r.value for r in plans.ContactRole]),
            detail=words(100),
            phone=phone,
            email=email,
        ),
        fields("name", "role", "detail", "phone", "email"),
    )
)
def test_any_input_to_the_contact_form_is_answered(world, values):
    _answered(world.post(f"/records/{world.record_id}/plan/contacts", values))
    check_everything_stored_is_valid(world)


@EXAMPLES
@given(
    values=st.one_of(
        near(total=money, held=choice(*[h.value for h in plans.BudgetHeld])),
        fields("total", "held"),
    )
)
def test_any_input_to_the_budget_form_is_answered_and_only_real_money_is_stored(world, values):
    _answered(world.post(f"/records/{world.record_id}/plan/budget", values))
    check_everything_stored_is_valid(world)


@EXAMPLES
@given(values=st.one_of(near(what=words(200), amount=money), fields("what", "amount")))
def test_any_input_to_a_budget_line_is_answered_and_only_real_money_is_stored(world, values):
    _answered(world.post(f"/records/{world.record_id}/plan/budget/lines", values))
    check_everything_stored_is_valid(world)


# --- goals ------------------------------------------------------------------------------------


@EXAMPLES
@given(
    values=st.one_of(
        near(
            outcome=words(goals.MAX_OUTCOME),
            need=words(goals.MAX_TEXT),
            measure=words(goals.MAX_TEXT),
            importance=score,
        ),
        fields("outcome", "need", "measure", "importance"),
    ),
    edit=st.booleans(),
)
def test_any_input_to_the_goal_form_is_answered_and_importance_stays_1_to_10(world, values, edit):
    path = f"/records/{world.record_id}/goals/" + (f"{world.goal_id}/edit" if edit else "new")
    _answered(world.post(path, values))
    check_everything_stored_is_valid(world)


@EXAMPLES
@given(
    values=st.one_of(
        near(status=choice(*[s.value for s in GoalStatus]), note=words(goals.MAX_TEXT)),
        fields("status", "note"),
    ),
    htmx=st.booleans(),
)
def test_any_input_to_a_goal_status_change_is_answered(world, values, htmx):
    path = f"/records/{world.record_id}/goals/{world.goal_id}/status"
    headers = {"HX-Request": "true"} if htmx else {}
    _answered(world.owner.post(path, data={**values, "csrf_token": world.token}, headers=headers))
    check_everything_stored_is_valid(world)


@EXAMPLES
@given(values=st.one_of(near(text=words(goals.MAX_TEXT)), fields("text")), htmx=st.booleans())
def test_any_input_to_a_progress_note_is_answered(world, values, htmx):
    path = f"/records/{world.record_id}/goals/{world.goal_id}/notes"
    headers = {"HX-Request": "true"} if htmx else {}
    _answered(world.owner.post(path, data={**values, "csrf_token": world.token}, headers=headers))
    check_everything_stored_is_valid(world)


# --- actions -----------------------------------------------------------------------------------

ACTION_FIELDS = (
    "goal_id",
    "what",
    "owner",
    "carer_id",
    "owner_name",
    "repeat",
    *date_fields("start", "until"),
    "interval",
    "at",
    "confidence",
    "support_needed",
    "barriers",
    "strategies",
)


def plausible_action(goal_id: str) -> st.SearchStrategy[dict]:
    return near(
        date_near("start"),
        date_near("until"),
        goal_id=st.sampled_from([goal_id, goal_id, ""]),
        what=words(actions.MAX_WHAT),
        owner=choice(*[o.value for o in Owner]),
        carer_id=st.sampled_from(["", "nobody"]),
        owner_name=words(100),
        repeat=choice(*[r.value for r in Repeat]),
        weekdays=st.lists(st.sampled_from([str(i) for i in range(-1, 8)]), max_size=8),
        interval=st.one_of(st.integers(-1, 54).map(str), st.just("")),
        at=st.sampled_from(["", "9:05", "14:30", "23:59", "24:00", "12:60", "7", "1430"]),
        confidence=score,
        support_needed=words(actions.MAX_TEXT),
        barriers=words(actions.MAX_TEXT),
        strategies=words(actions.MAX_TEXT),
    )


@EXAMPLES
@given(data=st.data(), edit=st.booleans())
def test_any_input_to_the_action_form_is_answered_and_confidence_stays_1_to_10(world, data, edit):
    values = data.draw(st.one_of(plausible_action(world.goal_id), fields(*ACTION_FIELDS)))
    path = f"/records/{world.record_id}/actions/" + (f"{world.action_id}/edit" if edit else "new")
    _answered(world.post(path, values))
    check_everything_stored_is_valid(world)


@EXAMPLES
@given(
    values=st.one_of(
        near(
            outcome=choice(*[o.value for o in Outcome]),
            note=words(500),
            next=st.sampled_from(["", "/", "//evil.example/", "https://evil.example/", "/\\x"]),
        ),
        fields("outcome", "note", "next", "client_key"),
    ),
    back=st.one_of(st.integers(-3, 40), text_value),
    htmx=st.booleans(),
)
def test_any_input_to_marking_an_occurrence_is_answered(world, values, back, htmx):
    day = (clock.today() - timedelta(days=back)).isoformat() if isinstance(back, int) else back
    path = f"/records/{world.record_id}/actions/{world.action_id}/mark"
    headers = {"HX-Request": "true"} if htmx else {}
    body = {**values, "day": day, "csrf_token": world.token}
    response = world.owner.post(path, data=body, headers=headers)
    _answered(response)
    if response.status_code == 303:
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//")
        assert "\\" not in location
    check_everything_stored_is_valid(world)


# --- signing up and signing in ------------------------------------------------------------------


@EXAMPLES
@given(
    values=st.one_of(
        near(name=words(100), email=email, password=words(20), confirm=words(20)),
        fields("name", "email", "password", "confirm"),
    ),
    same=st.booleans(),
)
def test_any_input_to_sign_up_is_answered_and_only_valid_accounts_are_made(world, values, same):
    if same and "password" in values:
        values["confirm"] = values["password"]
    client = world.app.test_client()
    token = _token(client)
    _answered(world.post("/sign-up", values, client=client, token=token))
    with world.app.app_context():
        address = accounts.normalise_email(str(values.get("email", "")))
        account = accounts.find_account_by_email(address) if address else None
    if account is not None and address != "owner@example.com":
        assert account.name.strip() and len(account.name) <= 100
        assert "@" in account.email and len(account.email) <= 254


@EXAMPLES
@given(
    values=st.one_of(
        near(
            email=st.sampled_from(
                ["owner@example.com", "OWNER@example.com ", "nobody@example.com"]
            ),
            password=st.sampled_from([PASSWORD, PASSWORD.upper(), "", PASSWORD + " "]),
            remember=st.sampled_from(["y", "", "no"]),
        ),
        fields("email", "password", "remember"),
    )
)
def test_any_input_to_sign_in_is_answered_and_never_signs_in_without_the_password(world, values):
    client = world.app.test_client()
    token = _token(client)
    response = world.post("/sign-in", values, client=client, token=token)
    _answered(response)
    if values.get("password") != PASSWORD:
        assert response.status_code != 303
