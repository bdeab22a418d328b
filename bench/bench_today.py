"""Server time of the Today page with 20,000 log entries: from the files, and from memory.

The person's record holds 20,000 log entries, ~20 a day over ~33 months (mood,
symptom readings, diary, carer support and action marks, made by the tracker's own
logging functions with past times), a plan, 3 goals and 6 actions. The Today page
is asked for through Flask's test client, signed in as the person, warm:

* **files**: the app as it runs, reading its JSON files through ``tracker.store``
  (per-process parse cache keyed by inode, size and mtime, so each request still
  ``stat``s and opens what it reads, and lists the record's folder);
* **memory**: the same page with ``Store.read``, ``Store.list_entries`` and
  ``Store.buckets`` answering from objects already loaded, touching no file
  (a write through ``Store.transaction`` drops the scope's copy, so a session touch
  is seen as it would be).

Rounds alternate between the two so that a busy machine slows both alike. The
target: the files' p50 and p95 within 1.5× of memory's. Run from the repository root::

    .venv/bin/python -m bench.bench_today            # ~1 min on an idle 2-core VM
    .venv/bin/python -m bench.bench_today --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from unittest import mock

from tracker import (
    accounts,
    actions,
    clock,
    create_app,
    digests,
    goals,
    logs,
    plans,
    records,
    sharing,
    trackers,
)
from tracker.actions import Outcome, Owner, Repeat, Schedule
from tracker.records import log_scope
from tracker.roles import Role
from tracker.store import ENTRIES_TABLE, Store, clear_cache, get_store, new_id

ENTRIES = 20_000
PER_DAY = 20
TARGET_RATIO = 1.5
PASSWORD = "correct horse battery staple"  # noqa: S105 (a throwaway account)


# --- building the record ---------------------------------------------------------------


class BulkEntries:
    """Stands in for ``Store.append_entry`` while the history is made: the entries are
    shaped by the real logging functions, then each month is written in one transaction
    (one append at a time would rewrite a month's file ~600 times)."""

    def __init__(self) -> None:
        self.months: dict[tuple[str, str, str], list[dict]] = defaultdict(list)

    def append_entry(self, scope, stream, entry, recorded_at=None, client_key=None) -> str:
        at = recorded_at.astimezone(UTC)
        bucket = f"{at.year:04d}-{at.month:02d}"
        doc = dict(entry)
        doc["id"] = f"{at.year:04d}{at.month:02d}-{client_key or new_id()}"
        doc.setdefault("recorded_at", at.isoformat())
        self.months[(scope, stream, bucket)].append(doc)
        return doc["id"]

    def flush(self, store: Store) -> int:
        written = 0
        for (scope, stream, bucket), docs in sorted(self.months.items()):
            with store.transaction(f"{scope}/{stream}-{bucket}") as tx:
                # One insert through the public API, the rest in one go: tx.insert checks
                # each id against the whole month, which is quadratic in a full month.
                tx.insert(ENTRIES_TABLE, docs[0])
                tx._db.table(ENTRIES_TABLE).insert_multiple(docs[1:])
            written += len(docs)
        return written


@dataclass
class Person:
    record_id: str
    email: str
    entries: int
    buckets: int
    actions: int
    goals: int


def build(today: date) -> Person:
    """The person, their plan, goals, actions and 20,000 entries ending yesterday evening."""
    rng = random.Random(2026)
    email = "bench.person@example.com"
    person = accounts.create_account(email, "Bench Person", PASSWORD)
    carer = accounts.create_account("bench.carer@example.com", "Bench Carer", PASSWORD)
    record = records.create_record("Bench Person", created_by=person.id, owner_id=person.id)
    sharing.add_member(record.id, person.id, Role.OWNER)
    sharing.add_member(record.id, carer.id, Role.CARER)
    days = math.ceil(ENTRIES / PER_DAY)
    start = today - timedelta(days=days)
    plans.save_plan(
        record.id,
        by=person.id,
        sections={
            "what_matters": "Getting out to see friends, and my garden.",
            "warning_signs": "More breathless than usual for 2 days.",
            "what_to_do": "Start the rescue pack. Sit upright.",
        },
        start_date=start,
        next_review=today + timedelta(days=30),
        review_interval_months=6,
        signed_off_on=start,
        signed_off_by="Bench Coordinator",
    )
    walk, sleep, calm = (
        goals.add_goal(record.id, outcome=o, by=person.id, importance=i)
        for o, i in (
            ("To walk to the shop and back without stopping", 9),
            ("To sleep through the night most nights", 7),
            ("To feel less anxious about going out", 8),
        )
    )
    plan_actions = [
        actions.add_action(
            record.id,
            goal_id=walk.id,
            what="Walking group on Tuesdays",
            owner=Owner.ME,
            confidence=7,
            schedule=Schedule(Repeat.WEEKLY, start, weekdays=(1,), at=clock_time(10, 30)),
        ),
        actions.add_action(
            record.id,
            goal_id=walk.id,
            what="Physio review",
            owner=Owner.OTHER,
            owner_name="Community physiotherapy",
            schedule=Schedule(Repeat.MONTHLY, start),
        ),
        actions.add_action(
            record.id,
            goal_id=sleep.id,
            what="Breathing exercises before bed",
            owner=Owner.ME,
            confidence=8,
            schedule=Schedule(Repeat.DAILY, start, at=clock_time(21, 30)),
        ),
        actions.add_action(
            record.id,
            goal_id=sleep.id,
            what="Help with the evening routine",
            owner=Owner.CARER,
            schedule=Schedule(Repeat.DAILY, start, at=clock_time(20, 0)),
        ),
        actions.add_action(
            record.id,
            goal_id=calm.id,
            what="Coffee group on Thursdays",
            owner=Owner.ME,
            confidence=5,
            schedule=Schedule(Repeat.WEEKLY, start, weekdays=(3,), interval=1),
        ),
        actions.add_action(
            record.id,
            goal_id=calm.id,
            what="Refer to talking therapy",
            owner=Owner.COORDINATOR,
            schedule=Schedule(Repeat.ONCE, start + timedelta(days=14)),
        ),
    ]
    breath = trackers.define_tracker(
        record.id, name="Breathlessness", kind=trackers.TrackerKind.SCALE
    )
    sleep_hours = trackers.define_tracker(
        record.id, name="Sleep", kind=trackers.TrackerKind.NUMBER, unit="hours"
    )
    weight = trackers.define_tracker(
        record.id, name="Weight", kind=trackers.TrackerKind.NUMBER, unit="kg"
    )

    bulk = BulkEntries()
    made = 0
    # The history ends yesterday: today's page shows today's actions still to do.
    with (
        mock.patch.object(Store, "append_entry", lambda self, *a, **k: bulk.append_entry(*a, **k)),
        mock.patch.object(digests, "note_activity", lambda *a, **k: None),
    ):
        for n in range(days):
            day = start + timedelta(days=n)
            stamps = sorted(
                datetime.combine(day, clock_time(7), tzinfo=UTC)
                + timedelta(minutes=rng.randrange(0, 15 * 60))
                for _ in range(PER_DAY)
            )
            todo = []
            for action in plan_actions:
                if action.owner in (Owner.ME, Owner.CARER) and action.schedule.occurrences(
                    day, day
                ):
                    todo.append(action)
            for k, at in enumerate(stamps):
                if made >= ENTRIES:
                    break
                if k < len(todo):
                    action = todo[k]
                    by = carer.id if action.owner is Owner.CARER else person.id
                    actions.mark_occurrence(
                        record.id,
                        action,
                        day,
                        rng.choice([Outcome.DONE, Outcome.DONE, Outcome.MISSED, Outcome.SKIPPED]),
                        by=by,
                        today=day,
                        at=at,
                    )
                elif k < len(todo) + 2:
                    logs.record_mood(
                        record.id,
                        author_id=person.id,
                        score=rng.randint(1, 5),
                        occurred_at=at,
                        recorded_at=at,
                    )
                elif k < len(todo) + 3:
                    logs.write_diary(
                        record.id,
                        author_id=person.id,
                        text=rng.choice(
                            [
                                "Walked to the postbox and back without stopping.",
                                "Bad night, woke at 3am and could not get back to sleep.",
                                "Coffee group was good. Nervous at first but glad I went.",
                            ]
                        ),
                        occurred_at=at,
                        recorded_at=at,
                    )
                elif k < len(todo) + 6:
                    logs.record_support(
                        record.id,
                        author_id=carer.id,
                        kind=logs.SupportKind.GIVEN,
                        what="Helped with shopping and the evening routine",
                        minutes=rng.choice([30, 45, 60]),
                        occurred_at=at,
                        recorded_at=at,
                    )
                else:
                    tracker = rng.choice([breath, sleep_hours, weight])
                    value = {breath.id: rng.randint(0, 10), sleep_hours.id: 6.5}.get(
                        tracker.id, 82.4
                    )
                    logs.record_reading(
                        record.id,
                        author_id=person.id,
                        tracker_id=tracker.id,
                        value=value,
                        occurred_at=at,
                        recorded_at=at,
                    )
                made += 1
    bulk.flush(get_store())
    digests.note_activity(record.id, at=clock.now().isoformat())
    stored = len(get_store().list_entries(log_scope(record.id), logs.STREAM))
    return Person(
        record.id,
        email,
        stored,
        len(get_store().buckets(log_scope(record.id), logs.STREAM)),
        len(plan_actions),
        3,
    )


# --- data already in memory ---------------------------------------------------------------


@contextlib.contextmanager
def from_memory() -> Iterator[None]:
    """Answer ``Store.read``, ``list_entries`` and ``buckets`` from objects loaded once."""
    real_read, real_list, real_buckets, real_tx = (
        Store.read,
        Store.list_entries,
        Store.buckets,
        Store.transaction,
    )
    memory: dict[tuple, object] = {}

    def month_of(since: datetime | None) -> str | None:
        if since is None:
            return None
        since = since.astimezone(UTC)
        return f"{since.year:04d}-{since.month:02d}"

    def read(self: Store, scope: str):
        key = ("read", scope)
        if key not in memory:
            memory[key] = real_read(self, scope)
        return memory[key]

    def list_entries(self: Store, scope: str, stream: str, recorded_since=None):
        key = ("list", scope, stream, month_of(recorded_since))
        if key not in memory:
            memory[key] = real_list(self, scope, stream, recorded_since=recorded_since)
        return memory[key]

    def buckets(self: Store, scope: str, stream: str):
        key = ("buckets", scope, stream)
        if key not in memory:
            memory[key] = real_buckets(self, scope, stream)
        return memory[key]

    @contextlib.contextmanager
    def transaction(self: Store, scope: str):
        with real_tx(self, scope) as tx:
            yield tx
        memory.pop(("read", scope), None)

    with (
        mock.patch.object(Store, "read", read),
        mock.patch.object(Store, "list_entries", list_entries),
        mock.patch.object(Store, "buckets", buckets),
        mock.patch.object(Store, "transaction", transaction),
    ):
        yield


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Stat:
    p50: float
    p95: float
    mean: float
    n: int

    @classmethod
    def of(cls, seconds: list[float]) -> Stat:
        ms = sorted(s * 1000 for s in seconds)
        rank = max(1, math.ceil(0.95 * len(ms)))  # nearest-rank p95
        return cls(statistics.median(ms), ms[rank - 1], statistics.fmean(ms), len(ms))


def timed(get: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        get()
        out.append(time.perf_counter() - started)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few requests, for a smoke run")
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds (default 10)")
    parser.add_argument("--per-round", type=int, default=50, help="requests a round (default 50)")
    args = parser.parse_args(argv)
    rounds, per_round = (2, 10) if args.quick else (args.rounds, args.per_round)

    with tempfile.TemporaryDirectory(prefix="bench-today-") as folder:
        clear_cache()
        app = create_app(
            {
                "ENV_NAME": "test",
                "TRACKER_DATA_DIR": str(Path(folder) / "data"),
                "RATELIMIT_ENABLED": False,
            }
        )
        app.instance_path = str(Path(folder) / "instance")
        # One log line a request on stderr would be measured too.
        logging.getLogger("tracker.request").setLevel(logging.WARNING)
        started = time.perf_counter()
        with app.app_context():
            person = build(clock.today())
        build_s = time.perf_counter() - started
        print(
            f"built {person.entries:,} entries in {person.buckets} month files, "
            f"{person.goals} goals, {person.actions} actions, in {build_s:.1f} s",
            file=sys.stderr,
        )

        client = app.test_client()
        app.config["WTF_CSRF_ENABLED"] = False
        signed_in = client.post("/sign-in", data={"email": person.email, "password": PASSWORD})
        assert signed_in.status_code == 303, signed_in.status_code
        url = f"/records/{person.record_id}/today"

        def get() -> None:
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        page = client.get(url).get_data(as_text=True)
        assert "Breathing exercises before bed" in page, "Today does not show today's action"

        files: list[float] = []
        memory: list[float] = []
        for _ in range(3):  # warm both paths: templates compiled, files parsed
            get()
            with from_memory():
                get()
        for _ in range(rounds):
            files += timed(get, per_round)
            with from_memory():
                get()  # load this round's objects untimed
                memory += timed(get, per_round)

    f, m = Stat.of(files), Stat.of(memory)
    ratio50, ratio95 = f.p50 / m.p50, f.p95 / m.p95
    holds = ratio50 <= TARGET_RATIO and ratio95 <= TARGET_RATIO
    print()
    print(
        f"Today page, {person.entries:,} log entries in {person.buckets} month files, "
        f"{rounds} rounds × {per_round} requests each way"
    )
    print()
    print("| page served from | requests | p50 (ms) | p95 (ms) | mean (ms) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| files (as deployed) | {f.n} | {f.p50:.2f} | {f.p95:.2f} | {f.mean:.2f} |")
    print(f"| memory (baseline) | {m.n} | {m.p50:.2f} | {m.p95:.2f} | {m.mean:.2f} |")
    means = f.mean / m.mean
    print(f"| **files ÷ memory** | | **{ratio50:.2f}×** | **{ratio95:.2f}×** | {means:.2f}× |")
    print()
    verdict = "holds" if holds else "does NOT hold"
    print(f"Target (files within {TARGET_RATIO}× of memory at p50 and p95): {verdict}.")
    print(
        f"{date.today().isoformat()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}, build {build_s:.0f} s"
    )
    return 0 if holds else 1


if __name__ == "__main__":
    sys.exit(main())
