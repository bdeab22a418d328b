"""The person decides who sees what: default categories, changing them, revoking, leaving."""

from __future__ import annotations

import re

from tracker import logs, records, sharing
from tracker.roles import DEFAULT_CATEGORIES, Category, Role

from .conftest import make_account, post
from .factories import create_person
from .helpers_security import is_sign_in_redirect

DIARY_TEXT = "Bad night; did not want anyone to know"
PARTS = ("plan", "mood", "symptoms", "diary")


def membership(app, user_id: str, record_id: str) -> sharing.Membership | None:
    with app.app_context():
        return sharing.membership_for(user_id, record_id)


def visible_parts(client, record_id: str) -> set[str]:
    """Which parts of the record answer 200 (the rest must answer 404)."""
    out = set()
    for part in PARTS:
        status = client.get(f"/records/{record_id}/{part}").status_code
        assert status in {200, 404}, (part, status)
        if status == 200:
            out.add(part)
    return out


def invitation_link(page_html: str) -> str:
    match = re.search(r"https?://[^/<\s]+(/invitations/[^<\s\"]+)", page_html)
    assert match, "no invitation link on the page"
    return match.group(1)


def test_a_carer_sees_plan_actions_and_support_by_default_and_not_the_diary(app, people, carer):
    m = membership(app, people.carer_id, people.record_id)
    assert m.categories == {Category.PLAN, Category.ACTIONS, Category.SUPPORT}
    assert visible_parts(carer, people.record_id) == {"plan"}


def test_a_coordinator_sees_all_but_the_diary_by_default(app, people, coordinator):
    m = membership(app, people.coordinator_id, people.record_id)
    assert m.categories == {
        Category.PLAN,
        Category.ACTIONS,
        Category.MOOD,
        Category.SYMPTOMS,
        Category.SUPPORT,
    }
    assert visible_parts(coordinator, people.record_id) == {"plan", "mood", "symptoms"}


def test_the_diary_is_private_unless_shared(people):
    for role in (Role.CARER, Role.COORDINATOR):
        assert Category.DIARY not in DEFAULT_CATEGORIES[role]


def test_changing_what_a_carer_sees_takes_effect_at_once(app, people, owner, carer):
    with app.app_context():
        logs.write_diary(people.record_id, author_id=people.owner_id, text=DIARY_TEXT)
    assert carer.get(f"/records/{people.record_id}/diary").status_code == 404

    mid = membership(app, people.carer_id, people.record_id).id
    response = post(
        owner, f"/records/{people.record_id}/sharing/members/{mid}", {"categories": ["diary"]}
    )
    assert response.status_code == 303
    assert "Saved what Cara Carer can see" in owner.get(response.headers["Location"]).get_data(
        as_text=True
    )

    # The carer's session was open all along: their very next request sees the change.
    diary = carer.get(f"/records/{people.record_id}/diary")
    assert diary.status_code == 200
    assert DIARY_TEXT in diary.get_data(as_text=True)
    assert visible_parts(carer, people.record_id) == {"diary"}


def test_changing_categories_with_htmx_returns_the_member_card_fragment(app, people, owner, carer):
    mid = membership(app, people.carer_id, people.record_id).id
    response = post(
        owner,
        f"/records/{people.record_id}/sharing/members/{mid}",
        {"categories": ["mood", "plan"]},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "HX-Request" in response.headers.get("Vary", "")
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert html.lstrip().startswith("<div") and f'id="member-{mid}"' in html
    assert "Saved." in html
    checked = set(re.findall(r'value="(\w+)" checked', html))
    assert checked == {"mood", "plan"}
    assert visible_parts(carer, people.record_id) == {"mood", "plan"}


def test_the_owner_sees_each_member_on_the_sharing_page(people, owner):
    response = owner.get(f"/records/{people.record_id}/sharing")
    assert response.status_code == 200
    assert "Cara Carer" in response.get_data(as_text=True)


def test_an_unknown_category_is_refused_and_changes_nothing(app, people, owner):
    mid = membership(app, people.carer_id, people.record_id).id
    before = membership(app, people.carer_id, people.record_id).categories
    response = post(
        owner, f"/records/{people.record_id}/sharing/members/{mid}", {"categories": ["everything"]}
    )
    assert response.status_code == 422
    assert membership(app, people.carer_id, people.record_id).categories == before


def test_a_revoked_carer_gets_404_on_the_next_request(app, people, owner, carer):
    today = f"/records/{people.record_id}/today"
    assert carer.get(today).status_code == 200

    mid = membership(app, people.carer_id, people.record_id).id
    response = post(owner, f"/records/{people.record_id}/sharing/members/{mid}/revoke")
    assert response.status_code == 303

    # Same client, same still-valid session: the membership is checked every time.
    assert carer.get(today).status_code == 404
    assert carer.get(f"/records/{people.record_id}/plan").status_code == 404
    assert membership(app, people.carer_id, people.record_id) is None
    assert f'id="member-{mid}"' not in owner.get(f"/records/{people.record_id}/sharing").get_data(
        as_text=True
    )
    # Revoking again finds nobody to revoke.
    again = post(owner, f"/records/{people.record_id}/sharing/members/{mid}/revoke")
    assert again.status_code == 404


def test_a_revoked_coordinator_loses_the_record_from_their_caseload(
    app, people, owner, coordinator
):
    assert "Olive Owner" in coordinator.get("/caseload").get_data(as_text=True)
    mid = membership(app, people.coordinator_id, people.record_id).id
    post(owner, f"/records/{people.record_id}/sharing/members/{mid}/revoke")
    assert coordinator.get(f"/records/{people.record_id}/today").status_code == 404
    assert "Olive Owner" not in coordinator.get("/caseload").get_data(as_text=True)


def test_the_owner_can_neither_be_revoked_nor_narrowed(app, people, owner):
    own = membership(app, people.owner_id, people.record_id).id
    base = f"/records/{people.record_id}/sharing/members/{own}"
    assert post(owner, base, {"categories": []}).status_code == 404
    assert post(owner, base + "/revoke").status_code == 404
    assert owner.get(f"/records/{people.record_id}/diary").status_code == 200


def test_carers_and_coordinators_cannot_manage_sharing(app, people, carer, coordinator):
    carer_member = membership(app, people.carer_id, people.record_id).id
    for client in (carer, coordinator):
        assert client.get(f"/records/{people.record_id}/sharing").status_code == 404
        path = f"/records/{people.record_id}/sharing/members/{carer_member}"
        assert post(client, path, {"categories": list(Category)}).status_code == 404
        assert post(client, path + "/revoke").status_code == 404
    assert membership(app, people.carer_id, people.record_id) is not None


def test_a_carer_can_stop_seeing_a_record(app, people, carer):
    assert carer.get(f"/records/{people.record_id}/leave").status_code == 200
    response = post(carer, f"/records/{people.record_id}/leave")
    assert response.status_code == 303
    assert carer.get(f"/records/{people.record_id}/today").status_code == 404


def test_the_owner_cannot_leave_their_own_record(people, owner):
    assert owner.get(f"/records/{people.record_id}/leave").status_code == 404
    assert post(owner, f"/records/{people.record_id}/leave").status_code == 404


def test_another_persons_member_and_invitation_ids_answer_404(app, people, owner, login_as):
    """Each id is checked against the record in the URL, not just looked up."""
    from tracker import invitations

    other, theirs = create_person(app)
    stranger = make_account(app, "stranger@example.com", "Stan Stranger")
    with app.app_context():
        their_carer = sharing.add_member(theirs.id, stranger.id, Role.CARER)
        _, their_invite = invitations.create_invitation(
            theirs.id, Role.CARER, created_by=other.id, label="x"
        )
    mine = f"/records/{people.record_id}/sharing"
    assert post(owner, f"{mine}/members/{their_carer.id}", {"categories": []}).status_code == 404
    assert post(owner, f"{mine}/members/{their_carer.id}/revoke").status_code == 404
    assert post(owner, f"{mine}/invitations/{their_invite.id}/cancel").status_code == 404
    with app.app_context():
        assert (
            sharing.membership_for(stranger.id, theirs.id).categories
            == (DEFAULT_CATEGORIES[Role.CARER])
        )
        assert invitations.pending_invitations(theirs.id)
    # And their record itself is not there for this owner.
    assert owner.get(f"/records/{theirs.id}/today").status_code == 404
    assert owner.get(f"/records/{theirs.id}/sharing").status_code == 404


def test_a_coordinator_can_start_a_record_and_invite_the_person_to_own_it(
    app, people, coordinator, login_as
):
    page = post(coordinator, "/caseload/people", {"name": "Priya Patel"})
    assert page.status_code == 200
    link = invitation_link(page.get_data(as_text=True))
    assert "Priya Patel" in coordinator.get("/caseload").get_data(as_text=True)

    make_account(app, "priya@example.com", "Priya Patel")
    priya = login_as("priya@example.com")
    assert "Your care plan record" in priya.get(link).get_data(as_text=True)
    accepted = post(priya, link)
    assert accepted.status_code == 303
    record_id = accepted.headers["Location"].split("/")[2]
    assert priya.get(f"/records/{record_id}/today").status_code == 200
    assert priya.get(f"/records/{record_id}/sharing").status_code == 200

    with app.app_context():
        record = records.get_record(record_id)
        assert record.owner_id == sharing.membership_for(record.owner_id, record_id).user_id
        owner_membership = sharing.membership_for(record.owner_id, record_id)
        coordinator_membership = sharing.membership_for(people.coordinator_id, record_id)
    assert owner_membership.role is Role.OWNER
    assert coordinator_membership.role is Role.COORDINATOR
    assert coordinator_membership.categories == DEFAULT_CATEGORIES[Role.COORDINATOR]


def test_only_coordinators_can_start_a_record_for_someone_else(people, carer):
    assert carer.get("/caseload/people").status_code == 404
    assert post(carer, "/caseload/people", {"name": "Someone"}).status_code == 404


def test_the_person_can_invite_a_carer_and_link_their_coordinator(app, people, owner, login_as):
    make_account(app, "friend@example.com", "Fran Friend")
    make_account(app, "new.coord@example.com", "Nell Coordinator", coordinator=True)

    for role, email, user_role in (
        ("carer", "friend@example.com", Role.CARER),
        ("coordinator", "new.coord@example.com", Role.COORDINATOR),
    ):
        assert owner.get(f"/records/{people.record_id}/sharing/invite/{role}").status_code == 200
        made = post(
            owner, f"/records/{people.record_id}/sharing/invite/{role}", {"label": "For them"}
        )
        assert made.status_code == 200
        link = invitation_link(made.get_data(as_text=True))
        joiner = login_as(email)
        assert post(joiner, link).status_code == 303
        with app.app_context():
            from tracker import accounts

            account = accounts.find_account_by_email(email)
            joined = sharing.membership_for(account.id, people.record_id)
        assert joined.role is user_role
        assert joined.categories == DEFAULT_CATEGORIES[user_role]
        assert joiner.get(f"/records/{people.record_id}/today").status_code == 200


def test_an_invitation_for_an_unknown_role_answers_404(people, owner):
    assert owner.get(f"/records/{people.record_id}/sharing/invite/owner").status_code == 404
    assert owner.get(f"/records/{people.record_id}/sharing/invite/admin").status_code == 404


def test_a_single_diary_entry_shared_on_its_own_is_visible_to_that_member_only(app, people):
    with app.app_context():
        shared = logs.write_diary(people.record_id, author_id=people.owner_id, text="Shared one")
        private = logs.write_diary(people.record_id, author_id=people.owner_id, text="Kept private")
        from tracker.records import log_scope
        from tracker.store import get_store

        get_store().update_entry(
            log_scope(people.record_id), logs.STREAM, shared, {"shared_with": [people.carer_id]}
        )
        carer = sharing.membership_for(people.carer_id, people.record_id)
        coord = sharing.membership_for(people.coordinator_id, people.record_id)
        owner = sharing.membership_for(people.owner_id, people.record_id)
        docs = {d["id"]: d for d in logs.raw_entries(people.record_id, kinds=[logs.Kind.DIARY])}

        assert sharing.entry_visible_to(carer, docs[shared], Category.DIARY)
        assert not sharing.entry_visible_to(carer, docs[private], Category.DIARY)
        assert not sharing.entry_visible_to(coord, docs[shared], Category.DIARY)
        assert sharing.entry_visible_to(owner, docs[private], Category.DIARY)

        seen = logs.entries(people.record_id, kinds=[logs.Kind.DIARY], viewer=carer)
        assert [e.id for e in seen] == [shared]


def test_signed_out_visitors_are_sent_to_sign_in_from_the_sharing_page(client, people):
    assert is_sign_in_redirect(client.get(f"/records/{people.record_id}/sharing"))
