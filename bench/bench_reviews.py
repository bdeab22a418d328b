"""Reviews: compiling the pre-review summary for a year of data, and a 500-person caseload.

The questions (issue 5):

1. Is compiling the summary (``summaries.compile_summary``) for a year of data at
   20 entries a day under 100 ms at p95 of server time?
2. Is the caseload page for a coordinator with 500 people under 200 ms?

**The year.** One person, a plan that started 365 days before "today", 7,300 log
entries (20 a day: 3 mood check-ins, 1 ONS4 wellbeing set, 7 symptom readings on 5
trackers, 4 action marks, 2 diary entries, 3 support entries) plus about one care
event a month and about one early warning hit a week, in 13 month files. Goals with
statuses, 5 actions (4 daily, 1 weekly) and 5 trackers (targets, rules) are made
with the domain functions. Log entries are written in bulk, one locked atomic write
per month file, in exactly the shape ``logs.log`` and ``Store.append_entry`` write
(writing 7,300 entries one at a time only slows the set-up). "Warm" runs are what a
server process sees after the first request (the per-process parse cache holds the
month files); "cold" runs clear that cache first (the OS page cache stays warm).

**The caseload.** 500 records held by one coordinator, each with a plan and review
date, about a tenth with open early review requests and a fifth with warning signs,
made with the domain functions (so each has its digest). The page is fetched through
Flask's test client, signed in, after 5 warm-up requests; the time is the whole
request through the WSGI stack.

Both are reported as wall-clock time and as this process's CPU time: on a shared
2-core VM other work steals the CPU, which inflates wall-clock percentiles but not
the CPU time the request itself needs. The targets are checked on wall-clock p95.

Run from the repository root::

    .venv/bin/python -m bench.bench_reviews            # ~1 min on the 2-core VM
    .venv/bin/python -m bench.bench_reviews --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

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
    reviews,
    sharing,
    summaries,
)
from tracker import trackers as trk
from tracker.actions import Owner, Repeat, Schedule
from tracker.records import log_scope
from tracker.roles import Role
from tracker.store import (
    ENTRIES_TABLE,
    META_TABLE,
    SCHEMA_VERSION,
    _load,
    _locked,
    _write_atomic,
    clear_cache,
    get_store,
    new_id,
)

TODAY = date(2026, 10, 31)
NOW = datetime(2026, 10, 31, 18, 0, tzinfo=UTC)
DAYS = 365
PER_DAY = 20
PASSWORD = "benchmark password 1"  # noqa: S105
SUMMARY_TARGET_MS = 100
CASELOAD_TARGET_MS = 200


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


# --- the year of data ---------------------------------------------------------------


def bulk_log(record_id: str, docs: list[dict]) -> None:
    """Append log entries grouped by month: one locked, atomic write per month file."""
    store = get_store()
    by_month: dict[str, list[dict]] = defaultdict(list)
    for doc in docs:
        at = datetime.fromisoformat(doc["recorded_at"])
        by_month[f"{at.year:04d}-{at.month:02d}"].append(doc)
    for bucket, month_docs in by_month.items():
        path = store._bucket_path(log_scope(record_id), logs.STREAM, bucket)
        with _locked(path):
            data = _load(path, use_cache=False) or {
                META_TABLE: {"1": {"schema_version": SCHEMA_VERSION}}
            }
            table = data.setdefault(ENTRIES_TABLE, {})
            next_key = max((int(k) for k in table), default=0) + 1
            for doc in month_docs:
                doc["id"] = f"{bucket.replace('-', '')}-{new_id()}"
                table[str(next_key)] = doc
                next_key += 1
            _write_atomic(path, data)


def entry(kind: logs.Kind, when: datetime, author: str, data: dict) -> dict:
    """A log entry as ``logs.log`` stores it."""
    stamp = when.astimezone(UTC).isoformat()
    return {
        "kind": kind.value,
        "occurred_at": stamp,
        "author_id": author,
        "data": data,
        "shared_with": [],
        "recorded_at": stamp,
    }


def build_year(rng: random.Random) -> tuple[str, int]:
    """One person's record with a year of data; returns (record id, entries written)."""
    person = accounts.create_account("person@example.com", "Pat Person", PASSWORD)
    carer = accounts.create_account("carer@example.com", "Cal Carer", PASSWORD)
    record = records.create_record("Pat Person", created_by=person.id, owner_id=person.id)
    sharing.add_member(record.id, person.id, Role.OWNER)
    sharing.add_member(record.id, carer.id, Role.CARER)
    start = TODAY - timedelta(days=DAYS)
    plans.save_review_arrangements(
        record.id, by=person.id, start_date=start, next_review=None, interval_months=12
    )
    walk = goals.add_goal(record.id, outcome="To walk to the shop and back", by=person.id)
    sleep = goals.add_goal(record.id, outcome="To sleep through the night", by=person.id)
    calm = goals.add_goal(record.id, outcome="To feel calmer going out", by=person.id)
    goals.set_goal_status(
        record.id, sleep.id, goals.GoalStatus.ON_HOLD, by=person.id, note="Clinic"
    )
    goals.set_goal_status(record.id, walk.id, goals.GoalStatus.ACHIEVED, by=person.id, note="Yes")
    daily = [
        actions.add_action(
            record.id,
            goal_id=g.id,
            what=what,
            owner=owner,
            confidence=conf,
            schedule=Schedule(Repeat.DAILY, start),
        )
        for g, what, owner, conf in (
            (walk, "Walk for 10 minutes", Owner.ME, 7),
            (sleep, "Breathing exercises before bed", Owner.ME, 8),
            (calm, "Five minutes of mindfulness", Owner.ME, 4),
            (sleep, "Help with the evening routine", Owner.CARER, None),
        )
    ]
    weekly = actions.add_action(
        record.id,
        goal_id=calm.id,
        what="Go to the coffee group",
        owner=Owner.ME,
        confidence=5,
        schedule=Schedule(Repeat.WEEKLY, start, weekdays=(3,)),
    )
    kinds = trk.TrackerKind
    breath = trk.define_tracker(
        record.id,
        name="Breathlessness",
        kind=kinds.SCALE,
        target_max=4,
        rule=trk.Rule(trk.RuleKind.AT_LEAST_FOR_DAYS, 7, 2),
    )
    sleep_t = trk.define_tracker(
        record.id, name="Sleep", kind=kinds.NUMBER, unit="hours", target_min=6, target_max=9
    )
    weight = trk.define_tracker(record.id, name="Weight", kind=kinds.NUMBER, unit="kg")
    panic = trk.define_tracker(
        record.id, name="Panic attack", kind=kinds.YES_NO, rule=trk.Rule(trk.RuleKind.ANY_YES)
    )
    seizures = trk.define_tracker(record.id, name="Seizures", kind=kinds.COUNT, target_max=1)

    docs: list[dict] = []
    p, c = person.id, carer.id
    events = list(logs.EventType)
    for i in range(DAYS):
        day = start + timedelta(days=i + 1)
        wave = 0.5 + 0.3 * ((i % 60) / 60)

        def at(hour: int, _day: date = day) -> datetime:
            return datetime.combine(_day, dtime(hour, rng.randrange(60)), tzinfo=clock.LONDON)

        for hour in (8, 13, 20):
            docs.append(
                entry(logs.Kind.MOOD, at(hour), p, {"score": rng.randint(2, 5), "note": ""})
            )
        docs.append(
            entry(
                logs.Kind.WELLBEING,
                at(9),
                p,
                {k: rng.randint(3, 9) for k in ("satisfied", "worthwhile", "happy", "anxious")},
            )
        )
        for tracker, value in (
            (breath, round(10 * (1 - wave) + rng.uniform(-1, 1))),
            (breath, round(10 * (1 - wave) + rng.uniform(-1, 1))),
            (breath, round(10 * (1 - wave) + rng.uniform(-1, 1))),
            (sleep_t, round(4 + 4 * wave + rng.uniform(-1, 1), 1)),
            (weight, round(78 + rng.uniform(-1, 1), 1)),
            (panic, float(rng.random() < 0.2)),
            (seizures, rng.randint(0, 2)),
        ):
            docs.append(
                entry(
                    logs.Kind.READING,
                    at(rng.randrange(7, 22)),
                    p,
                    {"tracker_id": tracker.id, "value": max(0, value), "note": ""},
                )
            )
        for action in daily:
            roll = rng.random()
            outcome = "done" if roll < 0.75 else "missed" if roll < 0.95 else "skipped"
            docs.append(
                entry(
                    logs.Kind.ACTION,
                    at(22),
                    c if action.owner is Owner.CARER else p,
                    {
                        "action_id": action.id,
                        "day": day.isoformat(),
                        "outcome": outcome,
                        "note": "",
                    },
                )
            )
        for _ in range(2):
            mark = rng.choice([None, "working", "not_working"])
            docs.append(
                entry(
                    logs.Kind.DIARY,
                    at(21),
                    p,
                    {
                        "text": "A day like most: walked a little, " * 3,
                        "mark": mark,
                        "goal_id": None,
                    },
                )
            )
        for kind in ("given", "given", rng.choice(["missed", "observation"])):
            docs.append(
                entry(
                    logs.Kind.SUPPORT,
                    at(19),
                    c,
                    {
                        "kind": kind,
                        "what": "Evening routine",
                        "minutes": 30 if kind == "given" else None,
                        "action_id": None,
                        "reason": "carer_unwell" if kind == "missed" else None,
                        "reason_text": "",
                    },
                )
            )
        if day.weekday() == 3:  # the weekly coffee group
            docs.append(
                entry(
                    logs.Kind.ACTION,
                    at(12),
                    p,
                    {"action_id": weekly.id, "day": day.isoformat(), "outcome": "done", "note": ""},
                )
            )
        if rng.random() < 1 / 30:
            docs.append(
                entry(logs.Kind.EVENT, at(14), c, {"event": rng.choice(events).value, "note": ""})
            )
        if rng.random() < 1 / 7:
            docs.append(
                entry(
                    logs.Kind.RULE_HIT,
                    at(10),
                    p,
                    {
                        "tracker_id": breath.id,
                        "tracker_name": breath.name,
                        "day": day.isoformat(),
                        "rule": breath.rule.describe(),
                        "evidence": [[day.isoformat(), 8]],
                    },
                )
            )
    bulk_log(record.id, docs)
    return record.id, len(docs)


Samples = tuple[list[float], list[float]]  # wall-clock ms, CPU ms of this process


def time_summary(record_id: str, runs: int, *, cold: bool) -> tuple[Samples, int]:
    wall, cpu = [], []
    count = 0
    for _ in range(runs):
        if cold:
            clear_cache()
        started, started_cpu = time.perf_counter(), time.process_time()
        summary = summaries.compile_summary(record_id, today=TODAY)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        count = len(summary.statements)
    return (wall, cpu), count


# --- the caseload ---------------------------------------------------------------------


def build_caseload(people: int, rng: random.Random) -> None:
    coord = accounts.create_account(
        "coord@example.com", "Cody Coordinator", PASSWORD, is_coordinator=True
    )
    for n in range(people):
        record = records.create_record(f"Person {n:03d}", created_by=coord.id)
        sharing.add_member(record.id, coord.id, Role.COORDINATOR)
        plans.save_review_arrangements(
            record.id,
            by=coord.id,
            start_date=TODAY - timedelta(days=rng.randrange(30, 700)),
            next_review=TODAY + timedelta(days=rng.randrange(-40, 300)),
            interval_months=12,
        )
        if n % 10 == 0:
            reviews.request_review(
                record.id,
                reason=reviews.Reason.NOT_WORKING,
                what_changed="Things are not working",
                urgency=reviews.Urgency.WEEK,
                by=coord.id,
            )
        at = (NOW - timedelta(hours=rng.randrange(1, 2000))).isoformat()
        digests.note_activity(record.id, at=at, rule_hit=n % 5 == 0)


def time_pages(client, path: str, runs: int) -> Samples:
    for _ in range(5):
        assert client.get(path).status_code == 200
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, response.status_code
    return wall, cpu


# --- main --------------------------------------------------------------------------------


def row(what: str, samples: Samples, target: float | None) -> str:
    wall, cpu = samples
    p50, p95 = statistics.median(wall), pct(wall, 95)
    verdict = "" if target is None else ("✅" if p95 < target else "❌") + f" < {target} ms"
    return (
        f"| {what} | {len(wall)} | {p50:.1f} | {p95:.1f} | {max(wall):.1f} | "
        f"{statistics.median(cpu):.1f} | {pct(cpu, 95):.1f} | {verdict or 'n/a'} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, 50 people")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--people", type=int, default=500)
    args = parser.parse_args()
    runs = 10 if args.quick else args.runs
    people = 50 if args.quick else args.people
    rng = random.Random(5)

    with tempfile.TemporaryDirectory(prefix="bench-reviews-") as tmp:
        app = create_app(
            {
                "ENV_NAME": "test",
                "TRACKER_DATA_DIR": str(Path(tmp) / "data"),
                "WTF_CSRF_ENABLED": False,
                "RATELIMIT_ENABLED": False,
            }
        )
        logging.getLogger("tracker.request").setLevel(logging.WARNING)  # no log lines
        clock_now = clock.now
        clock.now = lambda: NOW  # type: ignore[assignment]  # a fixed "today"
        try:
            with app.app_context():
                started = time.perf_counter()
                record_id, written = build_year(rng)
                year_setup = time.perf_counter() - started
                clear_cache()
                summaries.compile_summary(record_id, today=TODAY)  # the first request
                warm, statements = time_summary(record_id, runs, cold=False)
                cold, _ = time_summary(record_id, max(runs // 5, 5), cold=True)
                started = time.perf_counter()
                build_caseload(people, rng)
                caseload_setup = time.perf_counter() - started
            client = app.test_client()
            response = client.post(
                "/sign-in", data={"email": "coord@example.com", "password": PASSWORD}
            )
            assert response.status_code == 303, response.status_code
            page = time_pages(client, "/caseload", runs)
            by_name = time_pages(client, "/caseload?sort=name", max(runs // 2, 5))
            attention = time_pages(client, "/caseload?show=attention", max(runs // 2, 5))
            body = client.get("/caseload").get_data(as_text=True)
            assert body.count('<tr class="nhsuk-table__row">') == people, "rows missing"
        finally:
            clock.now = clock_now  # type: ignore[assignment]

    print(
        f"\n{date.today()} · {platform.node()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"Year: {written:,} log entries ({written / DAYS:.1f} a day), {statements} statements, "
        f"set-up {year_setup:.1f} s. Caseload: {people} people, set-up {caseload_setup:.1f} s.\n"
    )
    print(
        "| measured | runs | wall p50 ms | wall p95 ms | wall max ms | CPU p50 ms | CPU p95 ms "
        "| target (wall p95) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    print(row("`compile_summary`, a year at 20 a day, warm", warm, SUMMARY_TARGET_MS))
    print(row("`compile_summary`, same, parse cache cleared (first request)", cold, None))
    print(row(f"`GET /caseload`, {people} people, warm", page, CASELOAD_TARGET_MS))
    print(row(f"`GET /caseload?sort=name`, {people} people", by_name, CASELOAD_TARGET_MS))
    print(row(f"`GET /caseload?show=attention`, {people}", attention, CASELOAD_TARGET_MS))
    ok = pct(warm[0], 95) < SUMMARY_TARGET_MS and pct(page[0], 95) < CASELOAD_TARGET_MS
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
