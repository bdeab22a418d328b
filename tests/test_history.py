# ruff: noqa: F811 (the shared fixtures are imported from test_logs and used as arguments)
"""The history: one timeline of everything the viewer may see, newest first, filtered, paginated.

The large test builds a record with more than 20,000 entries by writing the month
files in bulk (each part of a month in one atomic write, laid out as
``Store.append_entry`` lays them out), then pages through it as the person would.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from tracker import actions, clock, goals, logs
from tracker.records import log_scope
from tracker.store import (
    BUCKET_CAP,
    ENTRIES_TABLE,
    META_TABLE,
    SCHEMA_VERSION,
    _bucket_name,
    _entry_id,
    _locked,
    _write_atomic,
    get_store,
    new_id,
)

from .conftest import send, text_of, url
from .test_logs import (  # noqa: F401 (fixtures)
    disk_entries,
    extras,
    stranger,
)

PER_PAGE = 25


def entry_ids(response) -> list[str]:
    return re.findall(r'<li class="app-entry" id="entry-([^"]+)"', response.get_data(as_text=True))


def ago(**delta) -> str:
    """A UK time some while ago, as a datetime-local box sends it."""
    from .test_logs import local

    return local(clock.now() - timedelta(**delta))


# --- one timeline ------------------------------------------------------------------------------


def test_the_history_is_one_timeline_newest_first_by_when_things_happened(
    people, extras, owner, carer
):
    # Logged in this order, but they happened in another.
    send(owner, url(people, "/diary/new"), {"text": "Three days ago", "when": ago(days=3)})
    send(owner, url(people, "/mood"), {"score": "4", "note": "Just now"})
    send(owner, url(people, f"/symptoms/{extras.scale}"), {"value": "5", "when": ago(days=1)})
    send(
        carer,
        url(people, "/support/new"),
        {"kind": "given", "what": "Two days ago", "when": ago(days=2)},
    )
    send(carer, url(people, "/events/new"), {"event": "a_and_e", "when": ago(days=4)})

    page = text_of(owner.get(url(people, "/history")))

    order = ["Just now", "Pain: 5 out of 10", "Two days ago", "Three days ago", "A&amp;E visit"]
    order = [o.replace("&amp;", "&") for o in order]
    positions = [page.index(o) for o in order]
    assert positions == sorted(positions)
    assert "5 entries, newest first." in page


def test_each_entry_says_who_logged_it_when_it_was_not_the_person(people, owner, carer):
    send(carer, url(people, "/support/new"), {"kind": "given", "what": "Cooked tea"})
    send(owner, url(people, "/diary/new"), {"text": "Wrote this myself"})
    page = text_of(owner.get(url(people, "/history")))
    support = page[page.index("Carer support, ") :]
    assert support[: support.index("</p>")].endswith(", logged by Cara Carer")
    diary = page[page.index("Diary, ") :]
    assert "logged by" not in diary[: diary.index("</p>")]
    assert "Cooked tea" in text_of(carer.get(url(people, "/history")))


@pytest.mark.parametrize(
    ("kind", "expect", "not_expect"),
    [
        ("mood", "Feeling okay", "Wrote in the diary"),
        ("diary", "Wrote in the diary", "Feeling okay"),
        ("support", "Did the shopping", "Feeling okay"),
        ("event", "Called the out-of-hours GP", "Did the shopping"),
        ("reading", "Pain: 7 out of 10", "Feeling okay"),
    ],
)
def test_the_history_is_filtered_by_kind(people, extras, owner, carer, kind, expect, not_expect):
    send(owner, url(people, "/mood"), {"score": "3", "note": "Feeling okay"})
    send(owner, url(people, "/diary/new"), {"text": "Wrote in the diary"})
    send(owner, url(people, f"/symptoms/{extras.scale}"), {"value": "7"})
    send(carer, url(people, "/support/new"), {"kind": "given", "what": "Did the shopping"})
    send(
        carer,
        url(people, "/events/new"),
        {"event": "out_of_hours_gp", "note": "Called the out-of-hours GP"},
    )

    page = text_of(owner.get(url(people, f"/history?kind={kind}")))

    assert expect in page
    assert not_expect not in page
    assert "1 entry, newest first." in page
    assert f'<option value="{kind}" selected' in page


def test_an_unknown_kind_shows_everything(people, owner):
    send(owner, url(people, "/mood"), {"score": "3"})
    send(owner, url(people, "/diary/new"), {"text": "Hello"})
    assert "2 entries" in text_of(owner.get(url(people, "/history?kind=<script>")))


def test_the_history_is_filtered_by_goal(people, extras, owner, carer):
    with people.app.app_context():
        other_goal = goals.add_goal(people.record_id, by="t", outcome="To sleep well")
        action = actions.get_action(people.record_id, extras.action)
        actions.mark_occurrence(
            people.record_id,
            action,
            clock.today(),
            actions.Outcome.DONE,
            by=people.carer_id,
            today=clock.today(),
        )
    send(owner, url(people, "/diary/new"), {"text": "About walking", "goal_id": extras.goal})
    send(owner, url(people, "/diary/new"), {"text": "About sleep", "goal_id": other_goal.id})
    send(owner, url(people, "/diary/new"), {"text": "About nothing"})
    send(
        carer,
        url(people, "/support/new"),
        {"kind": "given", "what": "Walked to the shop together", "action_id": extras.action},
    )
    send(carer, url(people, "/support/new"), {"kind": "given", "what": "Made lunch"})

    page = text_of(owner.get(url(people, f"/history?goal={extras.goal}")))

    assert "About walking" in page
    assert "Walked to the shop together" in page
    assert "Walk with Cara" in page  # the action's mark
    assert "3 entries" in page
    for absent in ("About sleep", "About nothing", "Made lunch"):
        assert absent not in page
    assert f'<option value="{extras.goal}" selected' in page


def test_a_goal_of_another_record_is_ignored_as_a_filter(people, extras, owner, stranger):
    send(owner, url(people, "/diary/new"), {"text": "Mine"})
    page = text_of(owner.get(url(people, f"/history?goal={stranger.extras.goal}")))
    assert "Mine" in page
    assert "1 entry" in page


def test_filters_combine_kind_and_goal(people, extras, owner, carer):
    send(owner, url(people, "/diary/new"), {"text": "Diary on the goal", "goal_id": extras.goal})
    send(
        carer,
        url(people, "/support/new"),
        {"kind": "given", "what": "Support on the goal", "action_id": extras.action},
    )
    page = text_of(owner.get(url(people, f"/history?kind=support&goal={extras.goal}")))
    assert "Support on the goal" in page
    assert "Diary on the goal" not in page


def test_a_carer_cannot_filter_by_goal_without_seeing_the_plan(people, extras, owner, carer):
    from tracker.roles import Category

    from .test_logs import _share

    _share(people, people.carer_id, set(), drop={Category.PLAN})
    send(carer, url(people, "/support/new"), {"kind": "given", "what": "Shopping"})
    page = text_of(carer.get(url(people, f"/history?goal={extras.goal}")))
    assert 'name="goal"' not in page
    assert "Shopping" in page


def test_the_history_answers_htmx_with_the_list_only(people, owner):
    send(owner, url(people, "/mood"), {"score": "3"})
    response = owner.get(url(people, "/history?kind=mood"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "HX-Request" in response.headers.get("Vary", "")
    body = text_of(response)
    assert "<html" not in body
    assert "1 entry, newest first." in body


# --- pagination -----------------------------------------------------------------------------


def test_the_history_is_paginated_twenty_five_to_a_page(people, owner):
    with people.app.app_context():
        base = clock.now() - timedelta(days=1)
        for i in range(30):
            logs.record_mood(
                people.record_id,
                author_id=people.owner_id,
                score=1 + i % 5,
                note=f"Check-in {i:02d}",
                occurred_at=base + timedelta(minutes=i),
            )
    first = owner.get(url(people, "/history"))
    page = text_of(first)
    assert "30 entries, newest first. Page 1 of 2." in page
    assert len(entry_ids(first)) == PER_PAGE
    assert "Check-in 29" in page
    assert "Check-in 05" in page
    assert "Check-in 04" not in page
    assert "Older" in page
    assert "Newer" not in page

    second = owner.get(url(people, "/history?page=2"))
    page2 = text_of(second)
    assert len(entry_ids(second)) == 5
    assert "Check-in 04" in page2
    assert "Check-in 00" in page2
    assert "Newer" in page2
    assert "Older" not in page2
    assert not set(entry_ids(first)) & set(entry_ids(second))


def test_the_page_links_keep_the_filters(people, extras, owner):
    with people.app.app_context():
        for i in range(26):
            logs.write_diary(
                people.record_id,
                author_id=people.owner_id,
                text=f"Entry {i}",
                goal_id=extras.goal,
                occurred_at=clock.now() - timedelta(hours=i + 1),
            )
    raw = owner.get(url(people, f"/history?kind=diary&goal={extras.goal}")).get_data(as_text=True)
    link = re.search(r'href="([^"]*page=2[^"]*)"', raw).group(1).replace("&amp;", "&")
    assert "kind=diary" in link
    assert f"goal={extras.goal}" in link
    assert len(entry_ids(owner.get(link))) == 1


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1e3", "", "99999999999", "²"])
def test_a_nonsense_page_number_shows_the_first_page(people, owner, page):
    send(owner, url(people, "/mood"), {"score": "3"})
    response = owner.get(url(people, f"/history?page={page}"))
    assert response.status_code == 200
    assert len(entry_ids(response)) == 1


def test_a_page_past_the_end_shows_nothing_but_says_how_many_there_are(people, owner):
    send(owner, url(people, "/mood"), {"score": "3"})
    page = text_of(owner.get(url(people, "/history?page=5")))
    assert "Nothing to show." in page
    assert "1 entry" in page


# --- 20,000 entries ---------------------------------------------------------------------------

KINDS = ["mood", "reading", "reading", "reading", "diary", "support", "event", "action"]


def build_big_record(people, count: int, seed: int = 4) -> list[dict]:
    """Write ``count`` entries spread over about 33 months, one write per file.

    About 20 a day: moods, readings, diary entries, the carer's support, events and
    action marks, each at its own minute, recorded in the month it happened. Each
    month is split into parts of ``BUCKET_CAP`` entries, as ``Store.append_entry``
    splits it, and each part is written whole by the store's own atomic writer.
    """
    rng = random.Random(seed)
    end = clock.now() - timedelta(hours=1)
    step = timedelta(days=1000) / count
    by_month: dict[str, list[dict]] = defaultdict(list)
    for i in range(count - 1, -1, -1):  # oldest first, as they would have been logged
        when = (end - step * i).replace(microsecond=0)
        kind = KINDS[i % len(KINDS)]
        author = people.carer_id if kind in ("support", "action") else people.owner_id
        data = {
            "mood": {"score": 1 + i % 5, "note": ""},
            "reading": {"tracker_id": "t", "value": rng.randrange(11), "note": ""},
            "diary": {"text": f"Diary {i}", "mark": None, "goal_id": None},
            "support": {
                "kind": "given",
                "what": f"Support {i}",
                "minutes": 30,
                "action_id": None,
                "reason": None,
                "reason_text": "",
            },
            "event": {"event": "a_and_e", "note": ""},
            "action": {"action_id": "a", "day": when.date().isoformat(), "outcome": "done"},
        }[kind]
        by_month[f"{when.year:04d}-{when.month:02d}"].append(
            {
                "kind": kind,
                "occurred_at": when.astimezone(UTC).isoformat(),
                "author_id": author,
                "data": data,
                "shared_with": [],
                "recorded_at": when.astimezone(UTC).isoformat(),
            }
        )
    docs = []
    with people.app.app_context():
        store = get_store()
        scope = log_scope(people.record_id)
        for month, month_docs in by_month.items():
            for part, start in enumerate(range(0, len(month_docs), BUCKET_CAP)):
                chunk = month_docs[start : start + BUCKET_CAP]
                for doc in chunk:
                    doc["id"] = _entry_id(month, part, new_id())
                path = store._bucket_path(scope, logs.STREAM, _bucket_name(month, part))
                with _locked(path):
                    _write_atomic(
                        path,
                        {
                            META_TABLE: {"1": {"schema_version": SCHEMA_VERSION}},
                            ENTRIES_TABLE: {str(k + 1): d for k, d in enumerate(chunk)},
                        },
                    )
                docs.extend(chunk)
    return sorted(docs, key=lambda d: d["occurred_at"], reverse=True)


@pytest.fixture
def big(people) -> list[dict]:
    return build_big_record(people, 20_007)


def test_pagination_over_twenty_thousand_entries(people, owner, big):
    total = len(big)
    pages = -(-total // PER_PAGE)
    assert (total, pages) == (20_007, 801)
    assert len(disk_entries(people.app, people.record_id)) == total
    with people.app.app_context():  # laid out as the store lays it out: each entry found by id
        assert all(logs.get_entry(people.record_id, d["id"]) for d in big[::997])

    seen: dict[int, list[str]] = {}
    for number in (1, 2, 400, 401, 800, 801):
        response = owner.get(url(people, f"/history?page={number}"))
        assert response.status_code == 200
        page = text_of(response)
        assert f"20,007 entries, newest first. Page {number} of 801." in page
        seen[number] = entry_ids(response)
        # Exactly the entries at these places in the full timeline, newest first.
        expected = [d["id"] for d in big[(number - 1) * PER_PAGE : number * PER_PAGE]]
        assert seen[number] == expected, number

    assert [len(seen[n]) for n in (1, 400, 801)] == [25, 25, 7]
    every = [i for ids in seen.values() for i in ids]
    assert len(every) == len(set(every)), "pages overlap"
    assert seen[1][0] == big[0]["id"]
    assert seen[801][-1] == big[-1]["id"]
    assert "Nothing to show." in text_of(owner.get(url(people, "/history?page=802")))


def test_filters_and_counts_over_twenty_thousand_entries(people, owner, carer, big):
    diaries = [d for d in big if d["kind"] == "diary"]
    page = text_of(owner.get(url(people, "/history?kind=diary&page=2")))
    assert f"{len(diaries):,} entries, newest first." in page
    ids = entry_ids(owner.get(url(people, "/history?kind=diary&page=2")))
    assert ids == [d["id"] for d in diaries[25:50]]

    # The carer sees their own support and action marks, nothing else.
    visible = [d for d in big if d["kind"] in ("support", "action", "event")]
    carer_page = carer.get(url(people, "/history"))
    assert f"{len(visible):,} entries" in text_of(carer_page)
    assert entry_ids(carer_page) == [d["id"] for d in visible[:25]]


def test_the_domain_pages_match_a_plain_sort_over_twenty_thousand_entries(people, big):
    with people.app.app_context():
        from tracker import sharing

        me = sharing.membership_for(people.owner_id, people.record_id)
        last_page, total = logs.page(people.record_id, viewer=me, number=801)
        middle, _ = logs.page(people.record_id, viewer=me, number=321)
    assert total == len(big)
    assert [e.id for e in last_page] == [d["id"] for d in big[800 * 25 :]]
    assert [e.id for e in middle] == [d["id"] for d in big[320 * 25 : 321 * 25]]
    assert all(isinstance(e.occurred_at, datetime) for e in middle)
    assert middle[0].occurred_at > middle[-1].occurred_at
    assert date.fromisoformat(big[-1]["occurred_at"][:10]) < clock.today() - timedelta(days=990)
