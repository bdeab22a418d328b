"""Someone deletes their own account: who may, what goes, what stays, and the session ending.

The done-when checks are here: after a carer deletes their account, their name and
email address are in no file of the data folder, a second browser holding their
old cookie is signed out, signing in again fails as for an unknown address, and the
person's pages that named them (history, support log, goal notes, "who has looked
at my record") still work and show no name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import (
    account_deletion,
    accounts,
    goals,
    invitations,
    logs,
    notifications,
    records,
    sessions,
    sharing,
)
from tracker.roles import Role
from tracker.store import clear_cache
from tracker.views.auth import SIGN_IN_FAILED

from .conftest import PASSWORD, TEMPLATES, People, csrf_token, make_account, sign_in
from .test_authorization_matrix import matrix_app
from .test_deletion import add_device, files_containing
from .test_forms_property import text_value

URL = "/account/delete"
SUPPORT = "Helped with the weekly shop at Penhaligon Stores"
NOTE = "Planted the first row of runner beans together"
REMINDER = "Water the seedlings in the greenhouse"
CARER_NAME = "Cara Carer"
CARER_EMAIL = "carer@example.com"


def confirm(client: FlaskClient, **data):
    body = {"understood": "y", "password": PASSWORD, **data}
    body = {k: v for k, v in body.items() if v is not None}
    body["csrf_token"] = csrf_token(client, "/account")
    return client.post(URL, data=body)


def reminder(record_id: str, n: int = 1) -> notifications.Reminder:
    return notifications.Reminder(
        key=f"action:{record_id}:a{n}:2026-01-01",
        kind=notifications.Kind.ACTION,
        due_at="2026-01-01T09:00:00+00:00",
        url=f"/records/{record_id}/today",
        details=REMINDER,
        record_id=record_id,
    )


def give_notifications(account_id: str, record_id: str) -> None:
    """A phone, preferences, a queued reminder and one sent (so in the inbox)."""
    add_device(account_id)
    notifications.save_preferences(account_id, notifications.Preferences(details=True))
    notifications.enqueue(account_id, reminder(record_id, 1))
    sent = notifications.Claim(reminder(record_id, 2), late=False, stale=False)
    notifications.claim_batch(notifications.bucket_of(account_id), {account_id: [sent]})


@pytest.fixture
def busy(app: Flask, people: People, login_as) -> People:
    """The carer has written in the record, has reminders, and has looked at the record."""
    rid = people.record_id
    with app.app_context():
        logs.record_support(
            rid, author_id=people.carer_id, kind=logs.SupportKind.OBSERVATION, what=SUPPORT
        )
        goal = goals.add_goal(rid, outcome="Grow my own runner beans", by=people.owner_id)
        goals.add_note(rid, goal.id, text=NOTE, by=people.carer_id)
        give_notifications(people.carer_id, rid)
        assert notifications.inbox(people.carer_id)
    login_as(CARER_EMAIL).get(f"/records/{rid}/today")  # an entry in the access trail
    assert files_containing(app, CARER_NAME)
    return people


def goal_id(people: People) -> str:
    with people.app.app_context():
        return goals.list_goals(people.record_id)[0].id


# --- the pages -------------------------------------------------------------------------


def test_the_account_settings_page_links_to_deleting_the_account(people: People, login_as):
    text = login_as(CARER_EMAIL).get("/account").get_data(as_text=True)
    assert f'href="{URL}"' in text


def test_the_carer_is_told_what_goes_what_stays_and_that_it_cannot_be_undone(
    people: People, login_as
):
    page = login_as(CARER_EMAIL).get(URL)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "This cannot be undone" in text
    assert "signed out on every device" in text
    assert "It will no longer show your name" in text
    assert 'name="password"' in text and 'name="understood"' in text


def test_signed_out_visitors_are_sent_to_sign_in(client: FlaskClient):
    response = client.get(URL)
    assert response.status_code in (302, 303)
    assert "/sign-in" in response.headers["Location"]


def test_the_deleted_page_is_only_for_someone_who_just_deleted(client: FlaskClient):
    response = client.get("/account/deleted")
    assert response.status_code == 303
    assert "/sign-in" in response.headers["Location"]


# --- who may not, yet ------------------------------------------------------------------


def test_the_owner_of_a_record_is_told_to_delete_the_record_first(people: People, login_as):
    client = login_as("owner@example.com")
    page = client.get(URL)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "You cannot delete your account yet" in text
    assert f'href="/records/{people.record_id}/delete"' in text
    assert 'name="password"' not in text
    assert confirm(client).status_code == 409
    with people.app.app_context():
        assert accounts.get_account(people.owner_id) is not None
        assert records.get_record(people.record_id) is not None
        assert sharing.membership_for(people.owner_id, people.record_id) is not None


def test_a_coordinator_with_a_caseload_is_told_to_hand_it_over_first(people: People, login_as):
    client = login_as("coord@example.com")
    text = client.get(URL).get_data(as_text=True)
    assert "care coordinator for 1 person" in text
    assert "ask your organisation" in text
    assert confirm(client).status_code == 409
    with people.app.app_context():
        assert accounts.get_account(people.coordinator_id) is not None
        assert sharing.membership_for(people.coordinator_id, people.record_id) is not None


def test_the_domain_refuses_too_and_changes_nothing(people: People):
    with people.app.app_context():
        with pytest.raises(account_deletion.AccountInUse) as refused:
            account_deletion.delete_account(people.owner_id)
        assert refused.value.blockers.owned_record_ids == (people.record_id,)
        assert accounts.get_account(people.owner_id) is not None
        assert len(sharing.members_of_record(people.record_id)) == 3


def test_a_coordinator_whose_caseload_is_empty_can_delete(people: People, login_as):
    client = login_as("coord@example.com")
    with people.app.app_context():
        member = sharing.membership_for(people.coordinator_id, people.record_id)
        assert sharing.revoke_member(people.record_id, member.id)
    assert confirm(client).status_code == 303
    with people.app.app_context():
        assert accounts.get_account(people.coordinator_id) is None


# --- bad input -------------------------------------------------------------------------


def test_a_wrong_password_deletes_nothing_and_says_so(busy: People, login_as):
    response = confirm(login_as(CARER_EMAIL), password="not my password")
    assert response.status_code == 422
    assert "Your password is not right" in response.get_data(as_text=True)
    with busy.app.app_context():
        assert accounts.get_account(busy.carer_id) is not None
        assert sharing.membership_for(busy.carer_id, busy.record_id) is not None


def test_not_ticking_the_box_deletes_nothing_and_says_so(busy: People, login_as):
    response = confirm(login_as(CARER_EMAIL), understood=None)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "There is a problem" in text and "Tick the box" in text
    with busy.app.app_context():
        assert accounts.get_account(busy.carer_id) is not None


def test_a_post_without_a_csrf_token_is_refused(busy: People, login_as):
    client = login_as(CARER_EMAIL)
    response = client.post(URL, data={"understood": "y", "password": PASSWORD})
    assert response.status_code == 400
    with busy.app.app_context():
        assert accounts.get_account(busy.carer_id) is not None


def test_guessing_the_password_is_limited_with_the_other_password_checks(people: People, login_as):
    client = login_as(CARER_EMAIL)
    codes = [confirm(client, password=f"guess number {i}").status_code for i in range(5)]
    assert codes == [422] * 5
    assert confirm(client).status_code == 429  # even the right password, for now
    # The limit is shared with the other pages that check the password.
    token = csrf_token(client, "/account")
    wrong = {"csrf_token": token, "password": "another guess"}
    assert client.post("/account/confirm-password", data=wrong).status_code == 429
    with people.app.app_context():
        assert accounts.get_account(people.carer_id) is not None


# Whatever a form can carry, and now and then the right password or a tick.
CONFIRMATIONS = st.fixed_dictionaries(
    {},
    optional={
        "password": st.one_of(text_value, st.sampled_from([PASSWORD, PASSWORD + " "])),
        "understood": st.one_of(text_value, st.just("y")),
    },
)


@pytest.fixture(scope="module")
def lone_carer(tmp_path_factory) -> Iterator[tuple[Flask, str, FlaskClient]]:
    """A carer on no record, signed in, in an app with room for many wrong passwords."""
    clear_cache()
    app = matrix_app(tmp_path_factory.mktemp("account-deletion"))
    app.jinja_env.bytecode_cache = TEMPLATES
    carer_id = make_account(app, CARER_EMAIL, CARER_NAME).id
    client = app.test_client()
    assert sign_in(client, CARER_EMAIL).status_code == 303
    yield app, carer_id, client
    clear_cache()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=CONFIRMATIONS)
def test_anything_sent_to_the_confirmation_deletes_nothing_unless_it_is_right(lone_carer, data):
    app, carer_id, client = lone_carer
    if data.get("password") == PASSWORD and data.get("understood"):
        data["password"] = "a wrong password"  # keep the account for the next example
    data["csrf_token"] = csrf_token(client, URL)
    response = client.post(URL, data=data)
    page = response.get_data(as_text=True)
    assert response.status_code in (400, 422)
    assert "There is a problem" in page or "Your password is not right" in page
    with app.app_context():
        assert accounts.get_account(carer_id) is not None


# --- deleting --------------------------------------------------------------------------


def test_deleting_signs_out_and_shows_a_confirmation(busy: People, login_as):
    client = login_as(CARER_EMAIL)
    response = confirm(client)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/account/deleted")
    page = client.get("/account/deleted")
    assert page.status_code == 200
    assert "Your account has been deleted" in page.get_data(as_text=True)
    # Signed out: the account page sends this browser to sign in.
    assert "/sign-in" in client.get("/account").headers["Location"]
    # Seen once: a reload does not say it again.
    assert client.get("/account/deleted").status_code == 303


def test_the_old_cookie_is_dead_in_every_browser(busy: People, login_as):
    phone, laptop = login_as(CARER_EMAIL), login_as(CARER_EMAIL)
    assert laptop.get(f"/records/{busy.record_id}/today").status_code == 200
    assert confirm(phone).status_code == 303
    response = laptop.get(f"/records/{busy.record_id}/today")
    assert response.status_code in (302, 303)
    assert "/sign-in" in response.headers["Location"]
    with busy.app.app_context():
        assert sessions.list_sessions(busy.carer_id) == []


def test_signing_in_again_fails_as_for_an_unknown_address(busy: People, login_as, app: Flask):
    assert confirm(login_as(CARER_EMAIL)).status_code == 303
    old = sign_in(app.test_client(), CARER_EMAIL)
    unknown = sign_in(app.test_client(), "nobody@example.com")
    assert old.status_code == unknown.status_code == 422
    assert SIGN_IN_FAILED in old.get_data(as_text=True)
    assert SIGN_IN_FAILED in unknown.get_data(as_text=True)


def test_the_address_can_make_a_new_account_afterwards(busy: People, login_as, app: Flask):
    assert confirm(login_as(CARER_EMAIL)).status_code == 303
    with app.app_context():
        fresh = accounts.create_account(CARER_EMAIL, "Cara Again", PASSWORD)
        assert fresh.id != busy.carer_id
        assert sharing.memberships_of_user(fresh.id) == []


def test_carer_access_ends_and_the_record_stays(busy: People, login_as):
    assert confirm(login_as(CARER_EMAIL)).status_code == 303
    with busy.app.app_context():
        assert sharing.membership_for(busy.carer_id, busy.record_id) is None
        assert records.get_record(busy.record_id) is not None
        assert sharing.membership_for(busy.owner_id, busy.record_id) is not None
        assert sharing.membership_for(busy.coordinator_id, busy.record_id) is not None


def test_no_file_holds_the_carers_name_email_or_reminders(busy: People, login_as):
    assert confirm(login_as(CARER_EMAIL)).status_code == 303
    app = busy.app
    for text in (CARER_NAME, CARER_EMAIL, REMINDER):
        assert files_containing(app, text) == [], text
    assert not (Path(app.config["TRACKER_DATA_DIR"]) / "people" / busy.carer_id).exists()
    with app.app_context():
        assert notifications.devices(busy.carer_id) == []
        assert notifications.inbox(busy.carer_id) == []
        assert notifications.queued(busy.carer_id) == []


def test_what_the_carer_wrote_stays_in_the_record_without_their_name(busy: People, login_as):
    assert confirm(login_as(CARER_EMAIL)).status_code == 303
    owner = login_as("owner@example.com")
    rid = busy.record_id
    pages = {
        f"/records/{rid}/history": SUPPORT,
        f"/records/{rid}/support": SUPPORT,
        f"/records/{rid}/goals/{goal_id(busy)}": NOTE,
        f"/records/{rid}/export/json": NOTE,
        f"/records/{rid}/export/fhir": NOTE,
    }
    for path, written in pages.items():
        response = owner.get(path)
        text = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert written in text, path
        assert CARER_NAME not in text, path


def test_who_has_looked_keeps_the_visit_without_the_name(busy: People, login_as):
    owner = login_as("owner@example.com")
    path = f"/records/{busy.record_id}/who-has-looked"
    assert CARER_NAME in owner.get(path).get_data(as_text=True)
    assert confirm(login_as(CARER_EMAIL)).status_code == 303
    response = owner.get(path)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert CARER_NAME not in text
    assert "Someone who has deleted their account" in text


def test_invitations_the_account_sent_and_not_yet_used_go(people: People):
    with people.app.app_context():
        sharing.revoke_member(
            people.record_id, sharing.membership_for(people.coordinator_id, people.record_id).id
        )
        invitations.create_invitation(
            people.record_id, Role.CARER, created_by=people.coordinator_id, label="Sis"
        )
        mine = invitations.create_invitation(
            people.record_id, Role.CARER, created_by=people.owner_id, label="Bro"
        )[1]
        result = account_deletion.delete_account(people.coordinator_id)
        assert result.invitations_removed == 1
        assert [i.id for i in invitations.pending_invitations(people.record_id)] == [mine.id]


def test_deleting_again_after_a_crash_part_way_finishes_the_job(
    busy: People, login_as, monkeypatch
):
    app = busy.app
    real_forget = notifications.forget_account

    def crash(account_id: str) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(notifications, "forget_account", crash)
    with app.app_context(), pytest.raises(RuntimeError):
        account_deletion.delete_account(busy.carer_id)
    monkeypatch.setattr(notifications, "forget_account", real_forget)
    with app.app_context():
        # Access has ended already; the account is still there to finish with.
        assert sharing.membership_for(busy.carer_id, busy.record_id) is None
        assert accounts.get_account(busy.carer_id) is not None
    # The person signs in again and finishes.
    assert confirm(login_as(CARER_EMAIL)).status_code == 303
    with app.app_context():
        assert accounts.get_account(busy.carer_id) is None
        # Running it once more does no harm.
        again = account_deletion.delete_account(busy.carer_id)
        assert again.memberships_removed == again.sessions_ended == 0
    for text in (CARER_NAME, CARER_EMAIL, REMINDER):
        assert files_containing(app, text) == [], text


def test_forgetting_an_account_leaves_other_accounts_alone(people: People):
    with people.app.app_context():
        give_notifications(people.carer_id, people.record_id)
        give_notifications(people.owner_id, people.record_id)
        notifications.forget_account(people.carer_id)
        assert notifications.inbox(people.carer_id) == []
        assert notifications.devices(people.carer_id) == []
        assert notifications.get_preferences(people.carer_id) == notifications.Preferences()
        assert len(notifications.inbox(people.owner_id)) == 1
        assert len(notifications.devices(people.owner_id)) == 1
