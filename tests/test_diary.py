# ruff: noqa: F811 (the shared fixtures are imported from test_logs and used as arguments)
"""The diary: private by default, one entry shared on its own, marks, goals, past days.

A diary entry is the most intimate thing in the record. These tests check that
nobody but the person sees one unless the person shares it (the whole diary, or
a single entry), from every page that could show it, and that a deleted entry
leaves nothing behind on disk.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tracker import clock, logs, sharing
from tracker.roles import Category

from .conftest import send, text_of, url
from .test_logs import (  # noqa: F401 (fixtures)
    SCRIPT,
    assert_refused,
    disk_bytes,
    disk_entries,
    extras,
    local,
    log_files,
    only,
    stranger,
)

SECRET = "I have not told anyone how frightened I am about the next scan."


def write(owner, people, text: str = SECRET, **fields) -> dict:
    response = send(owner, url(people, "/diary/new"), {"text": text, **fields})
    assert response.status_code == 303, text_of(response)[:400]
    entries = disk_entries(people.app, people.record_id, "diary")
    return next(e for e in entries if e["data"]["text"] == text.strip())


def member_id(people, user_id: str) -> str:
    with people.app.app_context():
        return sharing.membership_for(user_id, people.record_id).id


def set_categories(owner, people, user_id: str, categories: list[str]):
    """What the sharing page does when the person ticks boxes and saves."""
    response = send(
        owner,
        url(people, f"/sharing/members/{member_id(people, user_id)}"),
        {"categories": categories},
    )
    assert response.status_code == 303, text_of(response)[:400]


# --- writing --------------------------------------------------------------------------


def test_a_diary_entry_is_written_with_a_mark_a_goal_and_a_past_time(people, extras, owner):
    response = send(
        owner,
        url(people, "/diary/new"),
        {
            "text": SECRET,
            "mark": "not_working",
            "goal_id": extras.goal,
            "when": "2026-11-20T21:15",
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith(url(people, "/diary"))
    entry = only(disk_entries(people.app, people.record_id, "diary"))
    assert entry["data"] == {"text": SECRET, "mark": "not_working", "goal_id": extras.goal}
    assert entry["occurred_at"] == "2026-11-20T21:15:00+00:00"
    assert entry["shared_with"] == []
    page = text_of(owner.get(url(people, "/diary")))
    assert SECRET in page
    assert "Not working" in page
    assert "20 November 2026 at 9:15pm" in page


def test_a_diary_entry_without_a_time_is_dated_now_and_without_a_mark_is_neither(people, owner):
    entry = write(owner, people)
    assert entry["data"]["mark"] is None
    assert entry["data"]["goal_id"] is None
    assert entry["occurred_at"][:10] == entry["recorded_at"][:10]


def test_a_diary_entry_of_exactly_five_thousand_characters_is_kept_whole(people, owner):
    text = ("Line of my diary. " * 300)[:4999] + "!"
    assert len(text) == 5000
    write(owner, people, text)
    assert only(disk_entries(people.app, people.record_id, "diary"))["data"]["text"] == text


def test_diary_text_keeps_its_line_breaks_and_surrounding_spaces_are_trimmed(people, owner):
    write(owner, people, "  First line.\r\nSecond line.  ")
    stored = only(disk_entries(people.app, people.record_id, "diary"))["data"]["text"]
    assert stored.startswith("First line.")
    assert stored.endswith("Second line.")
    assert "\n" in stored


def test_a_script_in_a_diary_entry_is_shown_as_text(people, owner):
    write(owner, people, SCRIPT)
    for path in ("/diary", "/history", "/history?kind=diary"):
        raw = owner.get(url(people, path)).get_data(as_text=True)
        assert "<script>alert" not in raw, path
        assert "&lt;script&gt;alert(" in raw, path
    entry = only(disk_entries(people.app, people.record_id, "diary"))
    for suffix in ("/edit", "/delete", "/share"):
        raw = owner.get(url(people, f"/entries/{entry['id']}{suffix}")).get_data(as_text=True)
        assert "<script>alert" not in raw, suffix


def test_the_goal_list_offers_only_this_persons_goals(people, extras, owner, stranger):
    body = text_of(owner.get(url(people, "/diary/new")))
    assert extras.goal in body
    assert stranger.extras.goal not in body


def test_a_diary_entry_about_a_goal_shows_in_that_goals_history(people, extras, owner):
    write(owner, people, "About the walk", goal_id=extras.goal)
    write(owner, people, "About nothing in particular")
    page = text_of(owner.get(url(people, f"/history?goal={extras.goal}")))
    assert "About the walk" in page
    assert "About nothing in particular" not in page


# --- private by default ----------------------------------------------------------------


@pytest.mark.parametrize("who", ["carer", "coordinator"])
def test_the_diary_is_private_by_default(people, owner, carer, coordinator, who):
    client = carer if who == "carer" else coordinator
    entry = write(owner, people)

    assert client.get(url(people, "/diary")).status_code == 404
    assert client.get(url(people, "/diary/new")).status_code == 404
    for path in ("/history", "/history?kind=diary", "/today", "/trends", "/support"):
        response = client.get(url(people, path))
        assert SECRET not in text_of(response), path
    for suffix in ("/edit", "/delete", "/share"):
        assert client.get(url(people, f"/entries/{entry['id']}{suffix}")).status_code == 404
    # Not even offered as something to filter by.
    assert '<option value="diary"' not in text_of(client.get(url(people, "/history")))


def test_the_history_counts_only_what_the_viewer_may_see(people, owner, carer):
    for i in range(3):
        write(owner, people, f"Private {i}")
    send(carer, url(people, "/support/new"), {"kind": "observation", "what": "Quiet day"})
    assert "4 entries" in text_of(owner.get(url(people, "/history")))
    assert "1 entry" in text_of(carer.get(url(people, "/history")))


# --- one entry shared on its own ---------------------------------------------------------


def test_one_diary_entry_shared_with_the_carer_shows_in_the_carers_history_only(
    people, owner, carer, coordinator
):
    shared = write(owner, people, "Please read this one, Cara.")
    write(owner, people, SECRET)
    page = owner.get(url(people, f"/entries/{shared['id']}/share"))
    assert page.status_code == 200
    assert "Cara Carer" in text_of(page)
    assert "Cody Coordinator" in text_of(page)

    response = send(
        owner, url(people, f"/entries/{shared['id']}/share"), {"members": [people.carer_id]}
    )

    assert response.status_code == 303
    stored = [
        e for e in disk_entries(people.app, people.record_id, "diary") if e["id"] == shared["id"]
    ]
    assert only(stored)["shared_with"] == [people.carer_id]
    carer_history = text_of(carer.get(url(people, "/history")))
    assert "Please read this one, Cara." in carer_history
    assert SECRET not in carer_history
    # The whole diary is still not the carer's to open, and the coordinator sees neither.
    assert carer.get(url(people, "/diary")).status_code == 404
    coordinator_history = text_of(coordinator.get(url(people, "/history")))
    assert "Please read this one, Cara." not in coordinator_history
    assert SECRET not in coordinator_history
    # Shared is not authored: the carer still cannot change or delete it.
    assert carer.get(url(people, f"/entries/{shared['id']}/edit")).status_code == 404
    assert send(carer, url(people, f"/entries/{shared['id']}/delete")).status_code == 404


def test_unticking_everyone_makes_a_shared_entry_private_again(people, owner, carer):
    shared = write(owner, people, "Shared for a while")
    send(owner, url(people, f"/entries/{shared['id']}/share"), {"members": [people.carer_id]})
    assert "Shared for a while" in text_of(carer.get(url(people, "/history")))

    send(owner, url(people, f"/entries/{shared['id']}/share"), {})

    assert only(disk_entries(people.app, people.record_id, "diary"))["shared_with"] == []
    assert "Shared for a while" not in text_of(carer.get(url(people, "/history")))


@pytest.mark.parametrize("bad", ["not-a-member", "stranger"])
def test_an_entry_cannot_be_shared_with_someone_outside_the_record(people, owner, stranger, bad):
    shared = write(owner, people)
    who = stranger.owner_id if bad == "stranger" else "nobody123"
    response = send(owner, url(people, f"/entries/{shared['id']}/share"), {"members": [who]})
    assert_refused(response, "Select people from the list")
    assert only(disk_entries(people.app, people.record_id, "diary"))["shared_with"] == []


@pytest.mark.parametrize("who", ["carer", "coordinator"])
def test_only_the_person_can_share_an_entry(people, owner, carer, coordinator, who):
    client = carer if who == "carer" else coordinator
    shared = write(owner, people)
    user_id = people.carer_id if who == "carer" else people.coordinator_id
    response = send(client, url(people, f"/entries/{shared['id']}/share"), {"members": [user_id]})
    assert response.status_code == 404
    assert only(disk_entries(people.app, people.record_id, "diary"))["shared_with"] == []


def test_only_diary_entries_can_be_shared_one_by_one(people, owner):
    send(owner, url(people, "/mood"), {"score": "2"})
    mood = only(disk_entries(people.app, people.record_id, "mood"))
    assert owner.get(url(people, f"/entries/{mood['id']}/share")).status_code == 404


def test_changing_a_shared_entry_keeps_who_it_is_shared_with(people, owner, carer):
    shared = write(owner, people, "Shared, then changed")
    send(owner, url(people, f"/entries/{shared['id']}/share"), {"members": [people.carer_id]})
    send(owner, url(people, f"/entries/{shared['id']}/edit"), {"text": "Changed after sharing"})
    entry = only(disk_entries(people.app, people.record_id, "diary"))
    assert entry["shared_with"] == [people.carer_id]
    assert "Changed after sharing" in text_of(carer.get(url(people, "/history")))


def test_a_deleted_shared_entry_is_gone_for_everyone_and_from_disk(people, owner, carer):
    shared = write(owner, people, "Shared and then deleted")
    send(owner, url(people, f"/entries/{shared['id']}/share"), {"members": [people.carer_id]})
    send(owner, url(people, f"/entries/{shared['id']}/delete"))
    assert "Shared and then deleted" not in text_of(carer.get(url(people, "/history")))
    assert b"Shared and then deleted" not in disk_bytes(people.app, people.record_id)


# --- sharing the whole diary, and taking it back ------------------------------------------


def test_saving_an_entry_says_who_can_see_it(people, owner):
    response = send(owner, url(people, "/diary/new"), {"text": "First"}, follow_redirects=True)
    assert "Your diary entry has been saved. Only you can see it." in text_of(response)
    set_categories(owner, people, people.carer_id, ["plan", "actions", "support", "diary"])
    response = send(owner, url(people, "/diary/new"), {"text": "Second"}, follow_redirects=True)
    page = text_of(response)
    assert "Only you can see it." not in page
    assert "People you share your diary with can see it." in page


def test_sharing_the_diary_category_shows_every_entry_and_taking_it_back_hides_them(
    people, owner, carer, coordinator
):
    write(owner, people, SECRET)
    carer_sees = ["plan", "actions", "support", "diary"]

    set_categories(owner, people, people.carer_id, carer_sees)

    assert carer.get(url(people, "/diary")).status_code == 200
    assert SECRET in text_of(carer.get(url(people, "/diary")))
    assert SECRET in text_of(carer.get(url(people, "/history")))
    assert SECRET not in text_of(coordinator.get(url(people, "/history")))
    # The page for sharing one entry says the carer already sees the whole diary.
    entry = only(disk_entries(people.app, people.record_id, "diary"))
    assert "already see your whole diary" in text_of(
        owner.get(url(people, f"/entries/{entry['id']}/share"))
    )

    set_categories(owner, people, people.carer_id, ["plan", "actions", "support"])

    assert carer.get(url(people, "/diary")).status_code == 404
    assert SECRET not in text_of(carer.get(url(people, "/history")))


def test_a_revoked_carer_sees_no_diary_entry_even_one_shared_with_them(people, owner, carer):
    shared = write(owner, people)
    send(owner, url(people, f"/entries/{shared['id']}/share"), {"members": [people.carer_id]})
    with people.app.app_context():
        assert sharing.revoke_member(people.record_id, member_id(people, people.carer_id))
    assert carer.get(url(people, "/history")).status_code == 404


def test_entries_visible_to_checks_each_entry_for_each_member(people, owner):
    write(owner, people, "One")
    shared = write(owner, people, "Two")
    send(owner, url(people, f"/entries/{shared['id']}/share"), {"members": [people.carer_id]})
    with people.app.app_context():
        carer = sharing.membership_for(people.carer_id, people.record_id)
        coord = sharing.membership_for(people.coordinator_id, people.record_id)
        me = sharing.membership_for(people.owner_id, people.record_id)
        seen = {
            who: [e.data["text"] for e in logs.entries(people.record_id, viewer=m)]
            for who, m in (("carer", carer), ("coordinator", coord), ("owner", me))
        }
    assert seen == {"carer": ["Two"], "coordinator": [], "owner": ["Two", "One"]}


# --- deletion really removes the text ------------------------------------------------------


def test_deleting_a_diary_entry_removes_its_text_from_the_month_file(people, owner):
    keep = write(owner, people, "An entry I keep")
    gone = write(owner, people, SECRET)
    files = log_files(people.app, people.record_id)
    assert any(SECRET.encode() in p.read_bytes() for p in files)

    response = send(owner, url(people, f"/entries/{gone['id']}/delete"))

    assert response.status_code == 303
    for path in log_files(people.app, people.record_id):
        raw = path.read_bytes()
        assert SECRET.encode() not in raw
        json.loads(raw)  # still a whole, readable file
    assert [e["id"] for e in disk_entries(people.app, people.record_id, "diary")] == [keep["id"]]
    # Nothing else in the folder (digest, audit, temporary files) kept a copy.
    for f in Path(people.app.config["TRACKER_DATA_DIR"]).rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f


def test_deleting_twice_is_404_the_second_time(people, owner):
    gone = write(owner, people)
    assert send(owner, url(people, f"/entries/{gone['id']}/delete")).status_code == 303
    assert send(owner, url(people, f"/entries/{gone['id']}/delete")).status_code == 404


def test_editing_a_diary_entry_validates_like_writing_one(people, owner, extras, stranger):
    entry = write(owner, people)
    edit = url(people, f"/entries/{entry['id']}/edit")
    for data, message in (
        ({"text": ""}, "Write something in your diary entry"),
        ({"text": "x" * 5001}, "5,000 characters or fewer"),
        ({"text": "ok", "goal_id": stranger.extras.goal}, "Select a goal from the list"),
        ({"text": "ok", "mark": "great"}, "working, not working or neither"),
        ({"text": "ok", "when": "2099-01-01T10:00"}, "cannot be in the future"),
    ):
        assert_refused(send(owner, edit, data), message)
    assert only(disk_entries(people.app, people.record_id, "diary")) == entry


def test_the_diary_page_shows_the_last_three_months_and_links_to_the_rest(people, owner):
    write(owner, people, "Recent", when=local(clock.now() - timedelta(days=80)))
    write(owner, people, "Long ago", when=local(clock.now() - timedelta(days=100)))
    page = text_of(owner.get(url(people, "/diary")))
    assert "Recent" in page
    assert "Long ago" not in page
    assert "See all diary entries" in page
    assert "Long ago" in text_of(owner.get(url(people, "/history?kind=diary")))


def test_the_diary_category_can_be_read_from_the_membership(people):
    with people.app.app_context():
        carer = sharing.membership_for(people.carer_id, people.record_id)
    assert not carer.sees(Category.DIARY)
