"""Logging with 20,000 entries already held, against the same with 100; history and trends at 20k.

Two people's records are built in one data folder: one with 100 log entries and one
with 20,000, spread as a person and their carer would make them (about 20 a day:
mood check-ins, three trackers' readings, diary entries, support, action marks and
the odd care event), so the big record covers about 33 months and both end
an hour ago. Each month's parts (at most 100 entries each, as ``Store.append_entry``
splits them) are written in one go each by the store's own atomic writer.

Measured, through the Flask test client (the whole request: sign-in session,
permission check, form, storage, redirect or page) and directly:

* logging one mood check-in: ``POST /records/<id>/mood`` (plain form post, 303) and
  ``logs.record_mood`` on its own. Every timed entry is deleted again, untimed, so
  each record stays at exactly 100 or 20,000 entries; the two records are measured in
  interleaved rounds so that a busy machine slows both alike;
* ``GET /records/<id>/history`` (page 1 and a middle page) and
  ``GET /records/<id>/trends?period=3-months`` (mood and three trackers) for the
  person with 20,000 entries, warm (the per-process file cache filled).

Targets (issue 4): logging at 20k has p95 ≤ 1.5× the same at 100; the history page
and the 3-month chart each render in under 50 ms of server time at 20k.

Run from the repository root::

    .venv/bin/python -m bench.bench_logging            # ~20 s on a 2-core VM
    .venv/bin/python -m bench.bench_logging --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

TARGET_RATIO = 1.5
TARGET_MS = 50.0
PASSWORD = "bench password 1234"  # noqa: S105 (a throwaway account in a temp folder)


# --- statistics ----------------------------------------------------------------------


@dataclass
class Stat:
    p50: float
    p95: float
    n: int

    @classmethod
    def of(cls, samples_ns: list[int]) -> Stat:
        ms = sorted(s / 1e6 for s in samples_ns)
        rank = max(1, math.ceil(0.95 * len(ms)))  # nearest-rank p95
        return cls(statistics.median(ms), ms[rank - 1], len(ms))


def timed(samples: list[int], op: Callable[[], object]) -> object:
    t0 = time.perf_counter_ns()
    result = op()
    samples.append(time.perf_counter_ns() - t0)
    return result


# --- building a record ----------------------------------------------------------------------

DIARY = [
    "Walked to the corner shop and back without stopping. Felt proud.",
    "Too breathless to go to the walking group. Stayed in.",
    "Bad night. Woke up at 3am and could not get back to sleep.",
    "Went to the coffee group for half an hour. Nervous at first but glad I went.",
]
# About 20 entries a day: what one day of a busy person's log holds.
DAY_PLAN = (
    ["mood"] * 3
    + ["reading:scale"] * 4
    + ["reading:number"] * 3
    + ["reading:yes_no"] * 2
    + ["diary"] * 2
    + ["support"] * 3
    + ["action"] * 2
    + ["event"]
)


@dataclass
class Person:
    record_id: str
    owner_id: str
    carer_id: str
    email: str
    tracker_ids: dict[str, str]
    goal_id: str
    action_id: str


def make_person(app, tag: str) -> Person:
    from tracker import accounts, actions, clock, goals, records, sharing, trackers
    from tracker.actions import Owner, Repeat, Schedule
    from tracker.roles import Role
    from tracker.trackers import TrackerKind

    with app.app_context():
        owner = accounts.create_account(f"{tag}@example.com", f"Person {tag}", PASSWORD)
        carer = accounts.create_account(f"{tag}-carer@example.com", f"Carer {tag}", PASSWORD)
        record = records.create_record(f"Person {tag}", created_by=owner.id, owner_id=owner.id)
        sharing.add_member(record.id, owner.id, Role.OWNER)
        sharing.add_member(record.id, carer.id, Role.CARER)
        ids = {
            "scale": trackers.define_tracker(
                record.id, name="Breathlessness", kind=TrackerKind.SCALE, target_max=4
            ).id,
            "number": trackers.define_tracker(
                record.id, name="Weight", kind=TrackerKind.NUMBER, unit="kg"
            ).id,
            "yes_no": trackers.define_tracker(
                record.id, name="Green phlegm", kind=TrackerKind.YES_NO
            ).id,
        }
        goal = goals.add_goal(record.id, by=owner.id, outcome="To walk to the shop")
        action = actions.add_action(
            record.id,
            goal_id=goal.id,
            what="Help with the evening routine",
            owner=Owner.CARER,
            schedule=Schedule(Repeat.DAILY, clock.today() - timedelta(days=1100)),
        )
    return Person(record.id, owner.id, carer.id, owner.email, ids, goal.id, action.id)


def fill(app, person: Person, count: int, end: datetime, seed: int = 2026) -> int:
    """Write ``count`` entries, ~20 a day ending at ``end``; returns how many files.

    Each month is split into parts of ``BUCKET_CAP`` entries, oldest first, exactly as
    ``Store.append_entry`` would have split it, and each part is written in one go by
    the store's own atomic writer (appending 20,000 entries one by one takes minutes).
    """
    from tracker import logs
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

    rng = random.Random(seed)
    step = timedelta(days=1) / len(DAY_PLAN)
    by_month: dict[str, list[dict]] = defaultdict(list)
    for i in range(count - 1, -1, -1):  # oldest first, as they would have been logged
        when = (end - step * i).astimezone(UTC).replace(microsecond=0)
        what = DAY_PLAN[i % len(DAY_PLAN)]
        author = person.owner_id
        if what == "mood":
            kind, data = "mood", {"score": rng.randint(1, 5), "note": ""}
        elif what.startswith("reading:"):
            tkind = what.split(":")[1]
            value = {
                "scale": rng.randint(0, 10),
                "number": round(rng.uniform(68, 74), 1),
                "yes_no": rng.choice([0, 0, 0, 1]),
            }[tkind]
            kind = "reading"
            data = {"tracker_id": person.tracker_ids[tkind], "value": value, "note": ""}
        elif what == "diary":
            kind = "diary"
            data = {"text": rng.choice(DIARY), "mark": None, "goal_id": person.goal_id}
        elif what == "support":
            kind, author = "support", person.carer_id
            data = {
                "kind": "given",
                "what": "Helped with a shower and breakfast",
                "minutes": 40,
                "action_id": person.action_id,
                "reason": None,
                "reason_text": "",
            }
        elif what == "action":
            kind, author = "action", person.carer_id
            data = {
                "action_id": person.action_id,
                "day": when.date().isoformat(),
                "outcome": "done",
                "note": "",
            }
        else:
            kind, data = "event", {"event": "out_of_hours_gp", "note": "Called 111 at night"}
        by_month[f"{when.year:04d}-{when.month:02d}"].append(
            {
                "kind": kind,
                "occurred_at": when.isoformat(),
                "author_id": author,
                "data": data,
                "shared_with": [],
                "recorded_at": when.isoformat(),
            }
        )
    files = 0
    with app.app_context():
        store = get_store()
        scope = log_scope(person.record_id)
        for month, docs in by_month.items():
            for part, start in enumerate(range(0, len(docs), BUCKET_CAP)):
                chunk = docs[start : start + BUCKET_CAP]
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
                files += 1
    return files


# --- the app ---------------------------------------------------------------------------------


def signed_in(app, email: str):
    client = app.test_client()
    token = re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/sign-in").get_data(as_text=True)
    ).group(1)
    response = client.post(
        "/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303, response.status_code
    token = re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/sign-in").get_data(as_text=True)
    ).group(1)
    return client, token


def count_entries(app, person: Person) -> int:
    from tracker import logs

    with app.app_context():
        return len(logs.raw_entries(person.record_id))


def run(quick: bool) -> tuple[str, bool]:
    from tracker import create_app, logs
    from tracker.store import clear_cache

    rounds = 8 if quick else 40
    per_round = 3 if quick else 5
    page_reps = 10 if quick else 60

    root = Path(tempfile.mkdtemp(prefix="bench-logging-"))
    try:
        clear_cache()
        app = create_app(
            {
                "ENV_NAME": "test",
                "TRACKER_DATA_DIR": str(root / "data"),
                "WTF_CSRF_ENABLED": True,
                "RATELIMIT_ENABLED": False,
            }
        )
        app.instance_path = str(root / "instance")
        end = datetime.now(UTC) - timedelta(hours=1)
        small, big = make_person(app, "small"), make_person(app, "big")
        t0 = time.perf_counter()
        files = {"small": fill(app, small, 100, end), "big": fill(app, big, 20_000, end)}
        build_s = time.perf_counter() - t0
        assert count_entries(app, small) == 100
        assert count_entries(app, big) == 20_000
        this_month = {
            size: newest_file(app, person) for size, person in (("small", small), ("big", big))
        }
        clients = {"small": signed_in(app, small.email), "big": signed_in(app, big.email)}
        people = {"small": small, "big": big}

        post_ns: dict[str, list[int]] = {"small": [], "big": []}
        direct_ns: dict[str, list[int]] = {"small": [], "big": []}

        def post_mood(size: str) -> None:
            client, token = clients[size]
            person = people[size]
            response = timed(
                post_ns[size],
                lambda: client.post(
                    f"/records/{person.record_id}/mood",
                    data={"score": "3", "note": "Bench", "csrf_token": token},
                ),
            )
            assert response.status_code == 303, response.status_code
            delete_newest(app, person)

        def direct_mood(size: str) -> None:
            person = people[size]
            with app.test_request_context():
                entry_id = timed(
                    direct_ns[size],
                    lambda: logs.record_mood(
                        person.record_id, author_id=person.owner_id, score=3, note="Bench"
                    ),
                )
                logs.delete_entry(person.record_id, entry_id)

        # Warm up both (templates compiled, files cached), then interleave the sizes.
        for size in ("small", "big"):
            for _ in range(3):
                post_mood(size)
                direct_mood(size)
            post_ns[size].clear()
            direct_ns[size].clear()
        for r in range(rounds):
            order = ("small", "big") if r % 2 == 0 else ("big", "small")
            for size in order:
                for _ in range(per_round):
                    post_mood(size)
                    direct_mood(size)
        assert count_entries(app, small) == 100
        assert count_entries(app, big) == 20_000

        pages = {
            "history, page 1": "/history",
            "history, page 400": "/history?page=400",
            "trends, 3 months": "/trends?period=3-months",
        }
        page_ns: dict[tuple[str, str], list[int]] = {}
        for size in ("small", "big"):
            client, _ = clients[size]
            rid = people[size].record_id
            for name, path in pages.items():
                samples: list[int] = []
                for _ in range(3):  # warm: files parsed and cached, templates compiled
                    assert client.get(f"/records/{rid}{path}").status_code == 200
                for _ in range(page_reps):
                    response = timed(samples, lambda c=client, p=f"/records/{rid}{path}": c.get(p))
                    assert response.status_code == 200
                page_ns[(size, name)] = samples
        body = clients["big"][0].get(f"/records/{big.record_id}/history").get_data(as_text=True)
        assert "20,000 entries" in body, "the history page does not show 20,000 entries"
    finally:
        shutil.rmtree(root, ignore_errors=True)
        clear_cache()

    ok = True
    lines = [
        f"Built in {build_s:.1f} s: 100 entries in {files['small']} files, 20,000 in "
        f"{files['big']} (months split into parts of at most 100). A new entry goes into "
        f"this month's newest part, which holds {this_month['small']} entries for the "
        f"first record and {this_month['big']} for the second.",
        "",
        "Logging one mood check-in (ms), with 100 and with 20,000 entries already held:",
        "",
        "| what | n | at 100: p50 | p95 | at 20,000: p50 | p95 | ratio p50 | ratio p95 | "
        f"target p95 ≤ {TARGET_RATIO}× |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, data in (
        ("`POST /mood` (test client)", post_ns),
        ("`logs.record_mood`", direct_ns),
    ):
        s, b = Stat.of(data["small"]), Stat.of(data["big"])
        r50, r95 = b.p50 / s.p50, b.p95 / s.p95
        met = r95 <= TARGET_RATIO
        ok &= met
        lines.append(
            f"| {label} | {s.n} | {s.p50:.2f} | {s.p95:.2f} | {b.p50:.2f} | {b.p95:.2f} | "
            f"{r50:.2f}× | {r95:.2f}× | {'met' if met else '**missed**'} |"
        )
    lines += [
        "",
        "Pages, warm, through the test client (ms):",
        "",
        "| page | n | at 100: p50 | p95 | at 20,000: p50 | p95 | "
        f"target < {TARGET_MS:.0f} ms at 20,000 |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name in pages:
        s, b = Stat.of(page_ns[("small", name)]), Stat.of(page_ns[("big", name)])
        met = b.p95 < TARGET_MS
        ok &= met
        lines.append(
            f"| {name} | {b.n} | {s.p50:.2f} | {s.p95:.2f} | {b.p50:.2f} | {b.p95:.2f} | "
            f"{'met' if met else '**missed**'} (p95) |"
        )
    return "\n".join(lines), ok


def newest_file(app, person: Person) -> int:
    """How many entries the file a new entry is added to holds (this month's newest part)."""
    from tracker import logs
    from tracker.records import log_scope
    from tracker.store import ENTRIES_TABLE, get_store

    with app.app_context():
        store = get_store()
        scope = log_scope(person.record_id)
        newest = store.buckets(scope, logs.STREAM)[-1]
        raw = store._bucket_path(scope, logs.STREAM, newest).read_bytes()
    return len(json.loads(raw).get(ENTRIES_TABLE, {}))


def delete_newest(app, person: Person) -> None:
    """Undo the entry a timed request just logged (untimed)."""
    from tracker import logs

    with app.app_context():
        recent = logs.raw_entries(
            person.record_id,
            kinds=[logs.Kind.MOOD],
            recorded_since=datetime.now(UTC) - timedelta(days=1),
        )
        newest = max(recent, key=lambda d: d["recorded_at"])
        assert newest["data"]["note"] == "Bench", newest
        logs.delete_entry(person.record_id, newest["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few samples only (smoke test)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    table, ok = run(args.quick)
    load = os.getloadavg()
    print(f"## bench_logging, {date.today().isoformat()}")
    print()
    print(
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f}; {time.perf_counter() - started:.0f} s"
    )
    print()
    print(table)
    print()
    print("All targets met." if ok else "Some targets were missed (see **missed** above).")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
