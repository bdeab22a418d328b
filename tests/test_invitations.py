"""Invitation links: single use, 7 days, cancellable, and for the right kind of account."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tracker import clock, invitations, sharing
from tracker.roles import Role

from .conftest import PASSWORD, make_account, post


@pytest.fixture
def travel(monkeypatch):
    start = clock.now()

    def to(**delta) -> None:
        monkeypatch.setattr(clock, "now", lambda: start + timedelta(**delta))

    return to


def invite(app, people, role: Role = Role.CARER) -> tuple[str, str]:
    """An invitation to the people fixture's record; returns its link path and id."""
    with app.app_context():
        token, inv = invitations.create_invitation(
            people.record_id, role, created_by=people.owner_id, label="Sam"
        )
    return f"/invitations/{token}", inv.id


def member_of(app, people, email: str) -> sharing.Membership | None:
    from tracker import accounts

    with app.app_context():
        account = accounts.find_account_by_email(email)
        return sharing.membership_for(account.id, people.record_id)


def test_an_invitation_link_works_once_only(app, people, login_as):
    link, _ = invite(app, people)
    make_account(app, "first@example.com", "First")
    make_account(app, "second@example.com", "Second")

    first = login_as("first@example.com")
    assert post(first, link).status_code == 303
    assert member_of(app, people, "first@example.com").role is Role.CARER

    second = login_as("second@example.com")
    page = second.get(link)
    assert page.status_code == 404
    assert "already been used" in page.get_data(as_text=True)
    assert post(second, link).status_code == 404
    assert member_of(app, people, "second@example.com") is None


def test_an_invitation_expires_after_7_days(app, people, login_as, travel):
    link, _ = invite(app, people)
    make_account(app, "late@example.com", "Late")

    travel(days=6, hours=23)
    assert login_as("late@example.com").get(link).status_code == 200

    travel(days=7, minutes=1)
    late = login_as("late@example.com")
    page = late.get(link)
    assert page.status_code == 404
    assert "This invitation has expired" in page.get_data(as_text=True)
    assert post(late, link).status_code == 404
    assert member_of(app, people, "late@example.com") is None


def test_a_cancelled_invitation_cannot_be_used(app, people, login_as):
    link, inv_id = invite(app, people)
    owner = login_as("owner@example.com")
    sharing_page = f"/records/{people.record_id}/sharing"
    assert "Sam (carer)" in owner.get(sharing_page).get_data(as_text=True)

    cancel = f"{sharing_page}/invitations/{inv_id}/cancel"
    assert post(owner, cancel).status_code == 303
    assert "Sam (carer)" not in owner.get(sharing_page).get_data(as_text=True)
    assert post(owner, cancel).status_code == 404  # once cancelled, there is nothing to cancel

    make_account(app, "cancelled@example.com", "Cancelled")
    them = login_as("cancelled@example.com")
    page = them.get(link)
    assert page.status_code == 404
    assert "This invitation has been cancelled" in page.get_data(as_text=True)
    assert post(them, link).status_code == 404
    assert member_of(app, people, "cancelled@example.com") is None


def test_a_used_invitation_cannot_be_cancelled(app, people, login_as):
    link, inv_id = invite(app, people)
    make_account(app, "used@example.com", "Used")
    assert post(login_as("used@example.com"), link).status_code == 303
    owner = login_as("owner@example.com")
    cancel = f"/records/{people.record_id}/sharing/invitations/{inv_id}/cancel"
    assert post(owner, cancel).status_code == 404
    assert member_of(app, people, "used@example.com") is not None


def test_a_coordinator_invitation_cannot_be_accepted_by_a_non_coordinator(app, people, login_as):
    link, _ = invite(app, people, Role.COORDINATOR)
    make_account(app, "not.coord@example.com", "Not Coord")
    response = post(login_as("not.coord@example.com"), link)
    assert response.status_code == 409
    assert "Only a care coordinator account can accept" in response.get_data(as_text=True)
    assert member_of(app, people, "not.coord@example.com") is None

    # The link is not used up by the refusal: the real coordinator can still accept.
    make_account(app, "real.coord@example.com", "Real Coord", coordinator=True)
    assert post(login_as("real.coord@example.com"), link).status_code == 303
    assert member_of(app, people, "real.coord@example.com").role is Role.COORDINATOR


def test_the_owner_cannot_accept_an_invitation_to_their_own_record(app, people, login_as):
    link, _ = invite(app, people)
    response = post(login_as("owner@example.com"), link)
    assert response.status_code == 409
    assert member_of(app, people, "owner@example.com").role is Role.OWNER


def test_someone_already_on_the_record_cannot_use_an_invitation_again(app, people, login_as):
    link, _ = invite(app, people)
    response = post(login_as("carer@example.com"), link)
    assert response.status_code == 409
    assert "You already have access" in response.get_data(as_text=True)
    with app.app_context():
        assert len(invitations.pending_invitations(people.record_id)) == 1


def test_signed_out_visitors_are_asked_to_sign_in_and_come_back_to_the_link(app, people, client):
    link, _ = invite(app, people)
    page = client.get(link)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Olive Owner has invited you" in html
    assert "Accept invitation" not in html

    # A POST without an account accepts nothing.
    assert post(client, link).status_code == 200
    with app.app_context():
        assert len(invitations.pending_invitations(people.record_id)) == 1

    make_account(app, "newcomer@example.com", "Newcomer")
    sign_in_url = f"/sign-in?next={link}"
    assert f'href="{sign_in_url}"' in html
    signed_in = post(client, sign_in_url, {"email": "newcomer@example.com", "password": PASSWORD})
    assert signed_in.headers["Location"] == link
    assert post(client, link).status_code == 303
    assert member_of(app, people, "newcomer@example.com").role is Role.CARER


def test_an_unknown_invitation_link_answers_404_in_plain_english(client):
    page = client.get("/invitations/not-a-real-token")
    assert page.status_code == 404
    assert "This invitation link is not valid" in page.get_data(as_text=True)


def test_only_a_hash_of_the_invitation_token_is_stored(app, people):
    link, _ = invite(app, people)
    token = link.rsplit("/", 1)[1]
    data = Path(app.config["TRACKER_DATA_DIR"])
    stored = "".join(p.read_text() for p in data.rglob("*.json"))
    assert "token_hash" in stored
    assert token not in stored


def test_the_coordinators_owner_invitation_gives_the_person_the_record(app, login_as):
    make_account(app, "c@example.com", "Cass Coordinator", coordinator=True)
    make_account(app, "p@example.com", "Pat Person")
    coordinator = login_as("c@example.com")
    page = post(coordinator, "/caseload/people", {"name": "Pat Person"})
    html = page.get_data(as_text=True)
    link = "/invitations/" + html.split("/invitations/", 1)[1].split("<", 1)[0]

    person = login_as("p@example.com")
    accepted = post(person, link)
    assert accepted.status_code == 303
    record_id = urlsplit(accepted.headers["Location"]).path.split("/")[2]
    assert person.get(f"/records/{record_id}/who-has-looked").status_code == 200

    # A second person with the same link gets nothing: single use, and the record has an owner.
    make_account(app, "q@example.com", "Quinn")
    assert post(login_as("q@example.com"), link).status_code == 404
    assert parse_qs(urlsplit(link).query) == {}
