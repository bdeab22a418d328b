"""The access trail: every read or change by a carer or coordinator, shown to the person."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracker import audit, logs, sharing
from tracker.roles import RULES, Category, Permission, Role, allowed

from .conftest import post

DIARY_TEXT = "Told nobody about the fall on the stairs"


def trail(app, record_id: str) -> list[audit.AccessEvent]:
    with app.app_context():
        events, _ = audit.list_access(record_id, per_page=10_000)
    return events


def share_everything_with_the_carer(app, people) -> None:
    with app.app_context():
        member = sharing.membership_for(people.carer_id, people.record_id)
        sharing.set_categories(people.record_id, member.id, frozenset(Category))


def test_a_carer_looking_at_the_plan_is_listed_on_who_has_looked(app, people, owner, carer):
    assert carer.get(f"/records/{people.record_id}/plan").status_code == 200
    page = owner.get(f"/records/{people.record_id}/who-has-looked")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.get_data(as_text=True)))
    assert "Cara Carer (carer) looked at the plan and goals" in text


def test_a_change_by_a_coordinator_is_recorded_as_a_change(app, people, coordinator):
    assert post(coordinator, f"/records/{people.record_id}/leave").status_code == 303
    (event,) = trail(app, people.record_id)
    assert event.actor_id == people.coordinator_id
    assert event.role is Role.COORDINATOR
    assert event.what == RULES[Permission.LEAVE_RECORD].label
    assert event.changed


def test_a_read_is_recorded_as_a_read(app, people, coordinator):
    coordinator.get(f"/records/{people.record_id}/mood")
    (event,) = trail(app, people.record_id)
    assert event.what == RULES[Permission.VIEW_MOOD].label
    assert not event.changed


def test_the_owners_own_reads_are_not_audited(app, people, owner):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.arguments == {"record_id"}:
            owner.get(rule.build({"record_id": people.record_id})[1])
    assert trail(app, people.record_id) == []
    page = owner.get(f"/records/{people.record_id}/who-has-looked").get_data(as_text=True)
    assert "Nobody else has looked at your record." in page


@pytest.mark.parametrize("who", ["carer", "coordinator"])
def test_every_record_page_a_carer_or_coordinator_opens_adds_one_entry(app, people, login_as, who):
    """Found from the url map, so pages added later are covered too."""
    share_everything_with_the_carer(app, people)
    client = login_as(f"{'carer' if who == 'carer' else 'coord'}@example.com")
    user_id = people.carer_id if who == "carer" else people.coordinator_id
    with app.app_context():
        m = sharing.membership_for(user_id, people.record_id)
    opened = 0
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        permission = getattr(view, "required_permission", None)
        if "GET" not in rule.methods or rule.arguments != {"record_id"}:
            continue
        if permission is None or not allowed(m.role, m.categories, permission):
            continue
        if permission is Permission.LEAVE_RECORD:
            continue  # its GET only asks "are you sure?"; the POST is audited below
        before = len(trail(app, people.record_id))
        response = client.get(rule.build({"record_id": people.record_id})[1])
        assert response.status_code < 500, rule.rule
        events = trail(app, people.record_id)
        assert len(events) == before + 1, rule.rule
        assert events[0].actor_id == user_id
        assert events[0].what == RULES[permission].label
        opened += 1
    assert opened >= 5


def test_a_refused_request_by_someone_without_access_leaves_no_entry(app, people, login_as):
    from .conftest import make_account

    make_account(app, "stranger@example.com", "Stan Stranger")
    stranger = login_as("stranger@example.com")
    assert stranger.get(f"/records/{people.record_id}/plan").status_code == 404
    assert trail(app, people.record_id) == []


def test_the_trail_holds_who_what_and_when_but_no_health_details(app, people, carer):
    share_everything_with_the_carer(app, people)
    with app.app_context():
        logs.write_diary(people.record_id, author_id=people.owner_id, text=DIARY_TEXT)
    assert DIARY_TEXT in carer.get(f"/records/{people.record_id}/diary").get_data(as_text=True)
    data = Path(app.config["TRACKER_DATA_DIR"])
    audit_files = list(data.rglob("audit-*.json"))
    assert audit_files
    stored = "".join(p.read_text() for p in audit_files)
    assert "looked at the diary" in stored
    assert DIARY_TEXT not in stored
    assert "carer@example.com" not in stored


def test_only_the_owner_can_see_who_has_looked(people, carer, coordinator):
    for client in (carer, coordinator):
        assert client.get(f"/records/{people.record_id}/who-has-looked").status_code == 404


def test_the_trail_shows_25_at_a_time_and_loads_older_ones_with_htmx(app, people, owner):
    with app.app_context():
        for _ in range(30):
            audit.record_access(
                people.record_id,
                actor_id=people.carer_id,
                actor_name="Cara Carer",
                role=Role.CARER,
                permission=Permission.VIEW_PLAN,
                changed=False,
            )
    first = owner.get(f"/records/{people.record_id}/who-has-looked").get_data(as_text=True)
    assert first.count("Cara Carer</strong>") == 25
    assert "Show older" in first

    older = owner.get(
        f"/records/{people.record_id}/who-has-looked?page=2", headers={"HX-Request": "true"}
    )
    assert older.status_code == 200
    assert "HX-Request" in older.headers.get("Vary", "")
    html = older.get_data(as_text=True)
    assert "<html" not in html
    assert html.count("Cara Carer</strong>") == 5
    assert "Show older" not in html


def test_nonsense_page_numbers_show_the_first_page(people, owner):
    for page in ("0", "-1", "abc", "99999999999"):
        response = owner.get(f"/records/{people.record_id}/who-has-looked?page={page}")
        assert response.status_code == 200, page
