"""The person deletes their record: confirmation, who may, what goes, and nothing coming back.

The done-when checks are here: after deletion no file in the data folder holds
the record's id or anything written in it, and the former carer gets 404 on every
record route in ``app.url_map``. The store tests at the bottom show that no write,
whether under way, waiting for a lock, or late, can bring a deleted record back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import (
    accounts,
    calendar_feed,
    deletion,
    goals,
    invitations,
    logs,
    notifications,
    plans,
    records,
    sharing,
)
from tracker.roles import RULES, Permission, Role, Scope
from tracker.store import ScopeDeleted, Store, _locked, clear_cache

from .conftest import PASSWORD, TEMPLATES, People, csrf_token, make_account, sign_in
from .factories import create_person
from .test_authorization_matrix import matrix_app
from .test_forms_property import text_value

DIARY = "Walked to the allotment with Bramble the whippet"
GOAL = "Grow my own runner beans by summer"
SUPPORT = "Helped with the weekly shop at Penhaligon Stores"
PLAN = "What matters to me is my garden and seeing my grandchildren in Truro"
REMINDER = "Water the seedlings in the greenhouse"


def delete_url(people: People) -> str:
    return f"/records/{people.record_id}/delete"


def confirm(client: FlaskClient, people: People, **data):
    body = {"understood": "y", "password": PASSWORD, **data}
    body = {k: v for k, v in body.items() if v is not None}
    body["csrf_token"] = csrf_token(client, delete_url(people))
    return client.post(delete_url(people), data=body)


def data_dir(app: Flask) -> Path:
    return Path(app.config["TRACKER_DATA_DIR"])


def files_containing(app: Flask, text: str) -> list[str]:
    needle = text.encode()
    return sorted(
        p.relative_to(data_dir(app)).as_posix()
        for p in data_dir(app).rglob("*")
        if p.is_file() and needle in p.read_bytes()
    )


@pytest.fixture
def full(app: Flask, people: People, login_as) -> People:
    """The record with something in every part, a pending invitation and reminders."""
    rid = people.record_id
    with app.app_context():
        plans.save_sections(rid, {next(iter(plans.SECTIONS)): PLAN}, by=people.owner_id)
        goals.add_goal(rid, outcome=GOAL, by=people.owner_id)
        logs.write_diary(rid, author_id=people.owner_id, text=DIARY)
        logs.record_support(
            rid, author_id=people.carer_id, kind=logs.SupportKind.OBSERVATION, what=SUPPORT
        )
        invitations.create_invitation(rid, Role.CARER, created_by=people.owner_id, label="Sis")
        for account_id in (people.owner_id, people.carer_id, people.coordinator_id):
            add_device(account_id)
            notifications.enqueue(
                account_id,
                notifications.Reminder(
                    key=f"action:{rid}:a1:2026-01-01",
                    kind=notifications.Kind.ACTION,
                    due_at="2026-01-01T09:00:00+00:00",
                    url=f"/records/{rid}/today",
                    details=REMINDER,
                    record_id=rid,
                ),
            )
    # The carer and coordinator open the record, so the access trail has entries.
    login_as("carer@example.com").get(f"/records/{rid}/today")
    login_as("coord@example.com").get(f"/records/{rid}/today")
    assert files_containing(app, DIARY) and files_containing(app, rid)
    return people


def add_device(account_id: str) -> None:
    with notifications.get_store().transaction(notifications.scope(account_id)) as tx:
        tx.insert(
            notifications.SUBS,
            {
                "endpoint": f"https://fcm.googleapis.com/fcm/send/{account_id}",
                "p256dh": "key",
                "auth": "auth",
                "label": "Phone",
                "created_at": "2026-01-01T00:00:00+00:00",
            },
        )


# --- the confirmation page -------------------------------------------------------------


def test_the_owner_is_told_what_goes_and_that_it_cannot_be_undone(people: People, login_as) -> None:
    page = login_as("owner@example.com").get(delete_url(people))
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "This cannot be undone" in text
    assert "2 people you share your record with will lose access" in text
    assert 'name="password"' in text and 'name="understood"' in text
    assert "Your account stays" in text
    with people.app.test_request_context():
        your_data = url_for("data.page", record_id=people.record_id)
    assert f'href="{your_data}"' in text  # download a copy first


@pytest.mark.parametrize("who", ["carer@example.com", "coord@example.com"])
def test_a_carer_or_coordinator_cannot_delete_the_record(people: People, login_as, who) -> None:
    client = login_as(who)
    assert client.get(delete_url(people)).status_code == 404
    token = csrf_token(client, "/sign-in")
    response = client.post(
        delete_url(people), data={"csrf_token": token, "understood": "y", "password": PASSWORD}
    )
    assert response.status_code == 404
    with people.app.app_context():
        assert records.get_record(people.record_id) is not None


def test_only_the_owner_holds_the_delete_permission() -> None:
    rule = RULES[Permission.DELETE_RECORD]
    assert rule.scope is Scope.RECORD and rule.roles == frozenset({Role.OWNER})


def test_someone_elses_record_or_an_unknown_id_answers_404(people: People, login_as) -> None:
    make_account(people.app, "other@example.com", "Otto Other")
    assert login_as("other@example.com").get(delete_url(people)).status_code == 404
    assert login_as("owner@example.com").get("/records/000000000000/delete").status_code == 404


def test_a_wrong_password_deletes_nothing_and_says_so(full: People, login_as) -> None:
    client = login_as("owner@example.com")
    response = confirm(client, full, password="not my password at all")
    assert response.status_code == 422
    assert "Your password is not right" in response.get_data(as_text=True)
    assert files_containing(full.app, DIARY)
    with full.app.app_context():
        assert records.get_record(full.record_id) is not None


def test_not_ticking_the_box_deletes_nothing_and_says_so(full: People, login_as) -> None:
    response = confirm(login_as("owner@example.com"), full, understood=None)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in text and "Tick the box to confirm" in text
    assert files_containing(full.app, DIARY)


def test_a_post_without_a_csrf_token_is_refused(full: People, login_as) -> None:
    client = login_as("owner@example.com")
    response = client.post(delete_url(full), data={"understood": "y", "password": PASSWORD})
    assert response.status_code == 400
    assert files_containing(full.app, DIARY)


def test_guessing_the_password_is_limited_like_sign_in(full: People, login_as) -> None:
    client = login_as("owner@example.com")
    codes = [confirm(client, full, password=f"guess number {i}").status_code for i in range(6)]
    assert codes[:5] == [422] * 5
    assert codes[5] == 429
    assert confirm(client, full).status_code == 429  # even the right password, for now
    assert files_containing(full.app, DIARY)


@pytest.fixture(scope="module")
def roomy(tmp_path_factory) -> Iterator[tuple[Flask, str, FlaskClient]]:
    """One app for the property test, with room for many wrong passwords."""
    tmp = tmp_path_factory.mktemp("deletion")
    clear_cache()
    app = matrix_app(tmp)
    app.jinja_env.bytecode_cache = TEMPLATES
    owner, record = create_person(app, "owner@example.com", "Olive Owner")
    with app.app_context():
        logs.write_diary(record.id, author_id=owner.id, text=DIARY)
    client = app.test_client()
    assert sign_in(client, "owner@example.com").status_code == 303
    yield app, record.id, client
    clear_cache()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    data=st.fixed_dictionaries(
        {},
        optional={
            "password": st.one_of(text_value, st.sampled_from([PASSWORD, PASSWORD + " "])),
            "understood": st.one_of(text_value, st.just("y")),
        },
    )
)
def test_anything_sent_to_the_confirmation_deletes_nothing_unless_it_is_right(
    roomy, data: dict[str, str]
) -> None:
    app, rid, client = roomy
    path = f"/records/{rid}/delete"
    right = data.get("password") == PASSWORD and bool(data.get("understood"))
    if right:
        data = {**data, "password": "a wrong password"}  # keep the record for the next example
    response = client.post(path, data={**data, "csrf_token": csrf_token(client, path)})
    assert response.status_code in (400, 422)
    text = response.get_data(as_text=True)
    assert "There is a problem" in text or "Your password is not right" in text
    assert files_containing(app, DIARY)
    with app.app_context():
        assert records.get_record(rid) is not None


# --- deleting ------------------------------------------------------------------------


def test_after_deletion_no_file_of_that_person_remains(full: People, login_as) -> None:
    client = login_as("owner@example.com")
    response = confirm(client, full)
    assert response.status_code == 303
    app, rid = full.app, full.record_id
    assert not (data_dir(app) / "records" / rid).exists()
    for text in (rid, DIARY, GOAL, SUPPORT, PLAN, REMINDER, "Sis"):
        assert files_containing(app, text) == [], text
    # The person's name stays only on their sign-in account, which is kept.
    assert files_containing(app, "Olive Owner") == ["system/accounts.json"]
    with app.app_context():
        assert records.get_record(rid) is None
        assert sharing.members_of_record(rid) == []
        assert invitations.pending_invitations(rid) == []


def test_the_owner_keeps_their_account_and_sees_no_record(full: People, login_as) -> None:
    client = login_as("owner@example.com")
    confirm(client, full)
    home = client.get("/", follow_redirects=True)
    assert home.status_code == 200
    assert "Olive Owner&#39;s record has been deleted." in home.get_data(as_text=True)
    assert client.get(f"/records/{full.record_id}/today").status_code == 404
    with full.app.app_context():
        assert accounts.get_account(full.owner_id) is not None


def test_the_former_carer_gets_404_on_every_record_route(full: People, login_as) -> None:
    carer = login_as("carer@example.com")
    coordinator = login_as("coord@example.com")
    assert confirm(login_as("owner@example.com"), full).status_code == 303
    token = csrf_token(carer, "/sign-in")
    checked = 0
    for rule in full.app.url_map.iter_rules():
        if "record_id" not in rule.arguments:
            continue
        values = {arg: "abc123def456" for arg in rule.arguments}
        values["record_id"] = full.record_id
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            response = (
                carer.get(path) if method == "GET" else carer.post(path, data={"csrf_token": token})
            )
            assert response.status_code == 404, (method, path, response.status_code)
            checked += 1
    assert checked > 40
    assert coordinator.get(f"/records/{full.record_id}/today").status_code == 404
    assert coordinator.get("/caseload").status_code in (200, 303)
    assert full.record_id not in coordinator.get("/caseload").get_data(as_text=True)


def test_the_calendar_feed_link_stops_working(app: Flask, full: People, login_as) -> None:
    with app.app_context():
        token = calendar_feed.token_for(full.record_id, calendar_feed.reset_token(full.record_id))
    with app.test_request_context():
        feed = url_for("data.calendar_feed", token=token)
    reader = app.test_client()
    assert reader.get(feed).status_code == 200
    confirm(login_as("owner@example.com"), full)
    assert reader.get(feed).status_code == 404


def test_push_subscriptions_are_dropped_only_where_nothing_is_left_to_remind(
    full: People, login_as
) -> None:
    confirm(login_as("owner@example.com"), full)
    with full.app.app_context():
        assert notifications.devices(full.owner_id) == []
        assert notifications.devices(full.carer_id) == []
        # A coordinator keeps their phone for the rest of their caseload.
        assert len(notifications.devices(full.coordinator_id)) == 1
        for account_id in (full.owner_id, full.carer_id, full.coordinator_id):
            assert notifications.queued(account_id) == []


def test_a_carer_of_another_person_keeps_their_phone(app: Flask, full: People) -> None:
    with app.app_context():
        other = records.create_record("Pat Person", created_by=full.coordinator_id)
        sharing.add_member(other.id, full.carer_id, Role.CARER)
        deletion.delete_record(full.record_id, actor_id=full.owner_id)
        assert len(notifications.devices(full.carer_id)) == 1
        assert sharing.membership_for(full.carer_id, other.id) is not None


def test_deleting_again_after_a_crash_part_way_finishes_the_job(app: Flask, full: People) -> None:
    with app.app_context():
        # As if the process died after the folder went but before the rest.
        notifications.get_store().delete_scope_folder(
            records.log_scope(full.record_id), forever=True
        )
        assert records.get_record(full.record_id) is not None
        result = deletion.delete_record(full.record_id, actor_id=full.owner_id)
        assert result.members_removed == 3 and result.invitations_removed == 1
        assert records.get_record(full.record_id) is None
    assert files_containing(app, full.record_id) == []


def test_a_request_under_way_when_the_record_goes_gets_404_not_an_error(
    app: Flask, full: People, login_as
) -> None:
    client = login_as("owner@example.com")
    token = csrf_token(client, f"/records/{full.record_id}/today")
    with app.app_context():
        notifications.get_store().delete_scope_folder(
            records.log_scope(full.record_id), forever=True
        )
    # The index and membership are still there, so the request passes @requires, and
    # then its write is refused by the store.
    response = client.post(
        f"/records/{full.record_id}/diary/new",
        data={"csrf_token": token, "text": "written as the record went"},
    )
    assert response.status_code == 404
    assert files_containing(app, "written as the record went") == []


# --- the store: nothing brings a deleted folder back ---------------------------------------

FOLDER = "records/ab12cd34ef56"


def test_a_write_holding_the_lock_finishes_first_and_is_then_deleted(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction(f"{FOLDER}/record") as tx:
        tx.insert("goals", {"id": "g1"})
    inside, release = threading.Event(), threading.Event()

    def writer() -> None:
        with store.transaction(f"{FOLDER}/record") as tx:
            inside.set()
            release.wait(5)
            tx.insert("goals", {"id": "g2", "outcome": "late"})

    t = threading.Thread(target=writer)
    t.start()
    inside.wait(5)
    deleter = threading.Thread(target=store.delete_scope_folder, args=(FOLDER,))
    deleter.start()
    deleter.join(0.3)
    assert deleter.is_alive()  # it waits for the writer's lock
    release.set()
    t.join(5)
    deleter.join(5)
    assert not (tmp_path / FOLDER).exists()


def test_a_write_waiting_for_the_lock_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.append_entry(FOLDER, "log", {"text": "first"})
    bucket = next((tmp_path / FOLDER).glob("log-*.json"))
    outcome: list[object] = []
    started = threading.Event()

    def waiting_writer() -> None:
        started.set()
        try:
            outcome.append(store.append_entry(FOLDER, "log", {"text": "waited"}))
        except ScopeDeleted as exc:
            outcome.append(exc)

    with _locked(bucket):  # the deleter is "inside" this lock
        t = threading.Thread(target=waiting_writer)
        t.start()
        started.wait(5)
        t.join(0.2)
        for path in (tmp_path / FOLDER).rglob("*"):
            if path.is_file():
                path.unlink()
    t.join(5)
    assert len(outcome) == 1 and isinstance(outcome[0], ScopeDeleted)
    assert not any(p.is_file() for p in (tmp_path / FOLDER).rglob("*"))


@pytest.mark.parametrize(
    "late_write",
    [
        lambda s: s.append_entry(FOLDER, "log", {"text": "late"}),
        lambda s: s.transaction(f"{FOLDER}/record").__enter__(),
        lambda s: s.append_entry(f"{FOLDER}/sub", "log", {"text": "late"}),
    ],
    ids=["append", "transaction", "deeper-folder"],
)
def test_no_late_write_recreates_a_folder_deleted_forever(tmp_path: Path, late_write) -> None:
    store = Store(tmp_path)
    store.append_entry(FOLDER, "log", {"text": "first"})
    store.delete_scope_folder(FOLDER, forever=True)
    with pytest.raises(ScopeDeleted):
        late_write(store)
    assert not (tmp_path / FOLDER).exists()
    # Another store object (another worker) refuses too; other records are untouched.
    with pytest.raises(ScopeDeleted):
        Store(tmp_path).append_entry(FOLDER, "log", {"text": "late"})
    assert Store(tmp_path).append_entry("records/ffffffffffff", "log", {"text": "ok"})
    assert b"ab12cd34ef56" not in b"".join(
        p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()
    )


def test_a_late_write_that_already_made_its_folder_cleans_up_after_itself(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.append_entry(FOLDER, "log", {"text": "first"})
    store.delete_scope_folder(FOLDER, forever=True)
    # A writer that passed the first check just before the folder was listed as
    # deleted makes its folder and lock file, then meets the check under the lock.
    path = tmp_path / FOLDER / "record.json"
    with pytest.raises(ScopeDeleted), _locked(path, store._guard(path)):
        pass
    assert not (tmp_path / FOLDER).exists()


def test_a_photo_written_through_the_store_is_deleted_and_never_written_again(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path)
    path = store.write_file(f"{FOLDER}/receipts", "r1.jpg", b"\xff\xd8\xff photo")
    assert path.read_bytes() == b"\xff\xd8\xff photo"
    assert store.remove_file(f"{FOLDER}/receipts", "r1.jpg") is True
    assert store.remove_file(f"{FOLDER}/receipts", "r1.jpg") is False
    store.write_file(f"{FOLDER}/receipts", "r2.png", b"\x89PNG photo")
    store.delete_scope_folder(FOLDER, forever=True)
    assert not (tmp_path / FOLDER).exists()
    with pytest.raises(ScopeDeleted):
        store.write_file(f"{FOLDER}/receipts", "r3.jpg", b"late")
    assert not (tmp_path / FOLDER).exists()


@pytest.mark.parametrize("name", ["../r1.jpg", "r1", "plan.json", "r1.jpg.lock", ".tmp-r1.jpg"])
def test_a_file_name_that_could_escape_or_pose_as_data_is_refused(
    tmp_path: Path, name: str
) -> None:
    with pytest.raises(ValueError):
        Store(tmp_path).write_file(f"{FOLDER}/receipts", name, b"x")
    assert list(tmp_path.rglob("*")) == []
