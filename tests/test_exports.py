"""The full JSON export and its re-import: coverage, exact round trip, refusals, permissions."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
import time_machine
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tracker import (
    accounts,
    actions,
    audit,
    budget,
    calendar_feed,
    create_app,
    digests,
    exports,
    goals,
    logs,
    notifications,
    plans,
    receipts,
    records,
    reviews,
    sharing,
    trackers,
)
from tracker import settings as record_settings
from tracker.roles import Permission, Role
from tracker.store import clear_cache, get_store

from .conftest import PASSWORD, TEMPLATES, make_account, sign_in

NOW = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def fill_record(people) -> None:
    """Give the record every kind of data the tracker keeps, as the app would make it."""
    rid, owner, carer, coord = (
        people.record_id,
        people.owner_id,
        people.carer_id,
        people.coordinator_id,
    )
    with people.app.app_context():
        plans.save_sections(rid, {"what_matters": "My garden and my friends"}, by=owner)
        plans.save_review_arrangements(
            rid,
            by=coord,
            start_date=date(2026, 1, 5),
            next_review=date(2026, 7, 1),
            interval_months=6,
        )
        plans.add_budget_line(rid, by=coord, what="Gardening help", amount=Decimal("520.00"))
        line_id = plans.get_plan(rid).budget_lines[0].id
        goal = goals.add_goal(rid, outcome="Walk to the shop", by=owner, importance=8)
        goals.set_goal_status(rid, goal.id, goals.GoalStatus.ON_HOLD, by=coord, note="After the op")
        action = actions.add_action(
            rid,
            goal_id=goal.id,
            what="Walk to the post box",
            owner=actions.Owner.ME,
            schedule=actions.Schedule(actions.Repeat.DAILY, date(2026, 3, 1), at=None),
        )
        actions.mark_occurrence(
            rid, action, date(2026, 3, 19), actions.Outcome.DONE, by=owner, today=date(2026, 3, 20)
        )
        tracker = trackers.define_tracker(rid, name="Breathless", kind=trackers.TrackerKind.SCALE)
        logs.record_reading(rid, author_id=owner, tracker_id=tracker.id, value=3)
        diary_id = logs.write_diary(rid, author_id=owner, text="A good walk today")
        logs.share_entry(rid, diary_id, [carer])
        logs.record_support(
            rid, author_id=carer, kind=logs.SupportKind.GIVEN, what="Shopping", minutes=40
        )
        logs.record_event(rid, author_id=carer, event=logs.EventType.A_AND_E, note="Chest pain")
        # More than one part of a month, and a part left short by a deletion.
        moods = [logs.record_mood(rid, author_id=owner, score=1 + i % 5) for i in range(104)]
        logs.delete_entry(rid, moods[3])
        reviews.record_review(
            rid,
            held_on=date(2026, 3, 2),
            participants="Me and Jo",
            agreed="Keep going",
            next_review_on=date(2026, 9, 2),
            by=coord,
        )
        reviews.request_review(
            rid,
            reason=reviews.Reason.NEW_DIAGNOSIS,
            what_changed="New inhaler",
            urgency=reviews.Urgency.MONTH,
            by=carer,
        )
        receipt_id = receipts.save_receipt(rid, _photo())
        budget.record_spending(
            rid,
            on=date(2026, 3, 18),
            amount=Decimal("26.00"),
            payee="Green Fingers",
            line_id=line_id,
            author_id=owner,
            receipt_id=receipt_id,
        )
        audit.record_access(
            rid,
            actor_id=coord,
            actor_name="Cody Coordinator",
            role=Role.COORDINATOR,
            permission=Permission.VIEW_PLAN,
            changed=False,
        )
        digests.mark_seen(rid, coord)
        record_settings.set_ons4(rid, True)
        calendar_feed.reset_token(rid)
        calendar_feed.set_wording(rid, True)
        notifications.save_preferences(owner, notifications.Preferences(lead_minutes=15))


def _new_app(tmp_path: Path, name: str) -> Flask:
    clear_cache()
    app = create_app({"ENV_NAME": "test", "TRACKER_DATA_DIR": str(tmp_path / name / "data")})
    app.instance_path = str(tmp_path / name / "instance")
    app.jinja_env.bytecode_cache = TEMPLATES
    return app


def _same_people(app: Flask) -> None:
    make_account(app, "owner@example.com", "Olive Owner")
    make_account(app, "carer@example.com", "Cara Carer")
    make_account(app, "coord@example.com", "Cody Coordinator", coordinator=True)


@pytest.fixture
def filled(people):
    with time_machine.travel(NOW, tick=False):
        fill_record(people)
    return people


def _export(app: Flask, record_id: str) -> bytes:
    with app.app_context():
        return exports.export_bytes(record_id)


# --- what the export holds ---------------------------------------------------------------


def test_every_file_under_the_record_folder_is_in_the_export(filled):
    with filled.app.app_context():
        doc = exports.build_export(filled.record_id)
        folder = get_store().root / "records" / filled.record_id
    files = [
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.endswith(".lock")
    ]
    kinds = {"documents": 0, "streams": 0, "files": 0}
    for relative in files:
        stem = relative.removesuffix(".json")
        stream, _, bucket = stem.partition("-")
        if relative in doc["files"]:
            kinds["files"] += 1
        elif bucket and bucket in doc["streams"].get(stream, {}):
            kinds["streams"] += 1
        else:
            assert stem in doc["documents"], f"{relative} is not in the export"
            kinds["documents"] += 1
    # The fixture really made each kind: documents, several streams and parts, a receipt.
    assert all(kinds.values()), kinds
    assert set(doc["streams"]) >= {"log", "audit", "spend"}
    assert {"record", "digest", "calendar"} <= set(doc["documents"])


def test_export_holds_plan_history_logs_reviews_sharing_and_settings(filled):
    with filled.app.app_context():
        doc = exports.build_export(filled.record_id)
    record_tables = doc["documents"]["record"]
    assert {"plan", "plan_versions", "goals", "actions", "trackers", "reviews"} <= set(
        record_tables
    )
    assert any(t for t in record_tables if "request" in t)
    assert record_tables["settings"][0]["ons4"] is True
    kinds = {e["kind"] for entries in doc["streams"]["log"].values() for e in entries}
    assert {"mood", "reading", "diary", "support", "event", "action"} <= kinds
    assert len(doc["streams"]["log"]) == 2  # March 2026 in two parts
    roles = sorted(m["role"] for m in doc["sharing"])
    assert roles == ["carer", "coordinator", "owner"]
    assert doc["notification_preferences"]["lead_minutes"] == 15
    assert doc["schema"] == "care-plan-tracker/export" and doc["version"] == 1


def test_export_names_people_by_reference_and_holds_no_secrets(filled):
    with filled.app.app_context():
        raw = exports.export_bytes(filled.record_id)
        secret = calendar_feed.get_settings(filled.record_id).secret
    doc = orjson.loads(raw)
    emails = {p["email"] for p in doc["people"].values()}
    assert emails == {"owner@example.com", "carer@example.com", "coord@example.com"}
    for account_id in (filled.owner_id, filled.carer_id, filled.coordinator_id):
        assert account_id.encode() not in raw
    assert secret.encode() not in raw
    assert b"argon2" not in raw and b"password" not in raw
    assert doc["documents"]["calendar"]["feed"][0]["include_wording"] is True


def test_receipt_photos_are_exported_as_base64_with_their_sha256(filled):
    with filled.app.app_context():
        doc = exports.build_export(filled.record_id)
    (path, item), *_ = doc["files"].items()
    payload = base64.b64decode(item["base64"])
    assert path.startswith("receipts/") and payload[:2] == b"\xff\xd8"
    assert hashlib.sha256(payload).hexdigest() == item["sha256"]


# --- the round trip ----------------------------------------------------------------------


def test_json_export_imported_into_a_new_instance_exports_identically(filled, tmp_path):
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        first = _export(filled.app, filled.record_id)
        fresh = _new_app(tmp_path, "second")
        _same_people(fresh)
        with fresh.app_context():
            result = exports.import_bytes(first)
        second = _export(fresh, filled.record_id)
    assert result.record_id == filled.record_id
    assert result.not_linked == [] and len(result.linked) == 2
    assert second == first


def test_imported_record_works_for_its_owner_and_carer_in_the_new_instance(filled, tmp_path):
    first = _export(filled.app, filled.record_id)
    fresh = _new_app(tmp_path, "second")
    _same_people(fresh)
    with fresh.app_context():
        exports.import_bytes(first)
        owner = accounts.find_account_by_email("owner@example.com")
        assert sharing.membership_for(owner.id, filled.record_id).role is Role.OWNER
        assert records.get_record(filled.record_id).owner_id == owner.id
        moods = [e for e in logs.raw_entries(filled.record_id) if e["kind"] == "mood"]
        assert len(moods) == 103
    client = fresh.test_client()
    sign_in(client, "owner@example.com", PASSWORD)
    assert client.get(f"/records/{filled.record_id}/history").status_code == 200
    assert client.get(f"/records/{filled.record_id}/your-data").status_code == 200
    carer = fresh.test_client()
    sign_in(carer, "carer@example.com", PASSWORD)
    assert carer.get(f"/records/{filled.record_id}/today").status_code == 200


def test_import_can_name_another_owner_account_and_lists_people_it_could_not_link(filled, tmp_path):
    raw = _export(filled.app, filled.record_id)
    fresh = _new_app(tmp_path, "second")
    make_account(fresh, "olive.new@example.com", "Olive Owner")
    with fresh.app_context():
        result = exports.import_bytes(raw, owner_email="olive.new@example.com")
        assert result.owner_email == "olive.new@example.com"
        assert len(result.not_linked) == 2
        assert [m.role for m in sharing.members_of_record(filled.record_id)] == [Role.OWNER]


def test_import_refuses_when_the_owner_has_no_account_here_and_writes_nothing(filled, tmp_path):
    raw = _export(filled.app, filled.record_id)
    fresh = _new_app(tmp_path, "second")
    with fresh.app_context():
        with pytest.raises(exports.ImportRefused) as refused:
            exports.import_bytes(raw)
        assert "owner@example.com" in refused.value.problems[0]
        assert not (get_store().root / "records").exists()
        assert records.get_record(filled.record_id) is None


def test_import_refuses_a_record_that_is_already_here(filled):
    raw = _export(filled.app, filled.record_id)
    with filled.app.app_context(), pytest.raises(exports.ImportRefused) as refused:
        exports.import_bytes(raw)
    assert "already here" in refused.value.problems[0]


# --- malformed documents -----------------------------------------------------------------


@pytest.fixture
def document(filled):
    with filled.app.app_context():
        return exports.build_export(filled.record_id)


def _problems(app: Flask, doc) -> list[str]:
    raw = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    with app.app_context(), pytest.raises(exports.ImportRefused) as refused:
        exports.import_bytes(raw)
    return refused.value.problems


def _breaks(doc: dict) -> list[tuple[str, dict]]:
    cases = []

    def case(name, change):
        broken = copy.deepcopy(doc)
        change(broken)
        cases.append((name, broken))

    case("schema", lambda d: d.update(schema="something/else"))
    case("version", lambda d: d.update(version="1"))
    case("record id", lambda d: d["record"].update(id="../../etc"))
    case("owner", lambda d: d["record"].update(owner_id="person-99"))
    case("role", lambda d: d["sharing"][0].update(role="admin"))
    case("no owner", lambda d: d.update(sharing=[m for m in d["sharing"] if m["role"] != "owner"]))
    case("document name", lambda d: d["documents"].update({"../x": {}}))
    case("table", lambda d: d["documents"]["record"].update(goals="not a list"))
    case("goal", lambda d: d["documents"]["record"]["goals"][0].update(status="sort of"))
    case("entry id", lambda d: next(iter(d["streams"]["log"].values()))[0].update(id="x"))
    case("bucket", lambda d: d["streams"]["log"].update({"2026-13-x": []}))
    case("gap", lambda d: d["streams"]["log"].update({"2026-03.5": []}))
    case("file path", lambda d: d["files"].update({"../../system/accounts.json": {}}))
    case(
        "checksum",
        lambda d: next(iter(d["files"].values())).update(sha256="0" * 64),
    )
    return cases


def test_each_malformed_part_is_reported_and_nothing_is_written(document, tmp_path):
    fresh = _new_app(tmp_path, "second")
    _same_people(fresh)
    for name, broken in _breaks(document):
        problems = _problems(fresh, broken)
        assert problems, name
        assert all(isinstance(p, str) and p for p in problems), name
    with fresh.app_context():
        assert not (get_store().root / "records").exists()
        assert records.records_by_id({document["record"]["id"]}) == {}


def test_several_problems_are_listed_together(document, filled):
    document["sharing"][0]["role"] = "admin"
    document["documents"]["record"]["goals"][0]["status"] = "sort of"
    fresh_problems = _problems(filled.app, document)
    assert len(fresh_problems) >= 2


def test_a_newer_export_version_is_refused_with_a_clear_message(document, filled):
    document["version"] = 2
    (problem,) = _problems(filled.app, document)
    assert "newer version" in problem and "version 2" in problem


@pytest.mark.parametrize(
    "raw", [b"", b"not json", b"[1, 2]", b'{"schema": "care-plan-tracker/export"}']
)
def test_a_file_that_is_not_an_export_is_refused(app, raw):
    assert _problems(app, raw)


def test_an_import_over_the_size_limit_is_refused_before_it_is_read(app, monkeypatch):
    monkeypatch.setattr(exports, "MAX_IMPORT_BYTES", 100)
    problems = _problems(app, b"{" + b" " * 200 + b"}")
    assert "too big" in problems[0]


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Places in a document where junk may land: a whole section, or one field of one item.
PLACES = {
    "top": lambda d: d,
    "record": lambda d: d["record"],
    "person": lambda d: next(iter(d["people"].values())),
    "member": lambda d: d["sharing"][0],
    "goal": lambda d: d["documents"]["record"]["goals"][0],
    "action": lambda d: d["documents"]["record"]["actions"][0],
    "log entry": lambda d: next(iter(d["streams"]["log"].values()))[0],
    "spend entry": lambda d: next(iter(d["streams"]["spend"].values()))[0],
    "file": lambda d: next(iter(d["files"].values())),
}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), place=st.sampled_from(sorted(PLACES)), junk=JUNK)
def test_junk_anywhere_in_a_document_is_reported_in_words_and_never_crashes(
    document, data, place, junk
):
    broken = copy.deepcopy(document)
    target = PLACES[place](broken)
    key = data.draw(st.sampled_from(sorted(target)) | st.text(max_size=8), label="key")
    target[key] = junk
    problems = exports.check_document(broken)
    assert all(isinstance(p, str) and p for p in problems)


# --- the CLI -----------------------------------------------------------------------------


def test_import_record_command_imports_a_file_and_reports_who_was_linked(filled, tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(_export(filled.app, filled.record_id))
    fresh = _new_app(tmp_path, "second")
    _same_people(fresh)
    result = fresh.test_cli_runner().invoke(args=["import-record", str(path)])
    assert result.exit_code == 0, result.output
    assert f"Imported record {filled.record_id}" in result.output
    assert "Linked again: Cara Carer" in result.output


def test_import_record_command_lists_problems_and_imports_nothing(app, tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"schema": "care-plan-tracker/export", "version": 9}')
    result = app.test_cli_runner().invoke(args=["import-record", str(path)])
    assert result.exit_code != 0
    assert "newer version" in result.output and "Nothing was imported" in result.output


# --- the web pages -----------------------------------------------------------------------


def test_owner_downloads_everything_as_a_json_attachment(people, login_as):
    client = login_as("owner@example.com")
    response = client.get(f"/records/{people.record_id}/export/json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    assert orjson.loads(response.data)["record"]["id"] == people.record_id


def test_your_data_page_links_every_way_out(people, login_as):
    html = (
        login_as("owner@example.com")
        .get(f"/records/{people.record_id}/your-data")
        .get_data(as_text=True)
    )
    rid = people.record_id
    for href in (
        f"/records/{rid}/export/json",
        f"/records/{rid}/export/fhir",
        f"/records/{rid}/delete",
    ):
        assert f'href="{href}"' in html
    assert "Make a calendar link" in html


@pytest.mark.parametrize("email", ["carer@example.com", "coord@example.com"])
@pytest.mark.parametrize("path", ["your-data", "export/json"])
def test_carer_and_coordinator_get_404_for_the_data_page_and_export(people, login_as, email, path):
    assert login_as(email).get(f"/records/{people.record_id}/{path}").status_code == 404


def test_another_persons_record_export_answers_404(people, login_as, app):
    make_account(app, "stranger@example.com", "Stan Stranger")
    client = login_as("stranger@example.com")
    assert client.get(f"/records/{people.record_id}/export/json").status_code == 404
    assert client.get("/records/000000000000/export/json").status_code == 404


def test_export_needs_a_recent_sign_in(people, login_as):
    client = login_as("owner@example.com")
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=20)):
        response = client.get(f"/records/{people.record_id}/export/json")
    assert response.status_code in (302, 303)
    assert "/confirm" in response.headers["Location"] or "password" in response.headers["Location"]


def test_import_record_command_refuses_a_file_over_its_size_limit_without_reading_it(app, tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b"{" + b" " * (2 * 1024 * 1024) + b"}")
    result = app.test_cli_runner().invoke(args=["import-record", str(path), "--max-mb", "1"])
    assert result.exit_code != 0
    assert "too big to import: the limit is 1 MB" in result.output


def test_a_record_deleted_here_for_good_cannot_be_brought_back_by_an_import(filled):
    raw = _export(filled.app, filled.record_id)
    with filled.app.app_context():
        from tracker import deletion

        deletion.delete_record(filled.record_id, actor_id=filled.owner_id)
        with pytest.raises(exports.ImportRefused) as refused:
            exports.import_bytes(raw)
        assert "nothing was kept" in refused.value.problems[0]
        assert records.get_record(filled.record_id) is None
        assert not (get_store().root / "records" / filled.record_id).exists()
