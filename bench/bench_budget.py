"""Budget monitoring: the budget page and a year's statement, for 3 years of weekly spending.

The question (issue 9): do the budget page and a year's statement each render in
under 50 ms of server time for a person with 3 years of weekly spending?

**The record.** A plan that started 3 years (1,096 days) before "today" with 6 budget
lines (weekly PA wages, monthly employer costs, yearly therapy, monthly travel, a
one-off piece of equipment, yearly insurance) and a spending record every week on the
weekly and travel lines, every month on employer costs and therapy, and a few others: 390
records in 37 month files, each written by ``budget.record_spending`` on the day it
happened (the clock is moved, so each lands in its own month's file as in real use).

**The baseline**, side by side: the same plan and lines with only the last month of
spending, so the ratio shows what 3 years of history add to each request.

Requests go through Flask's test client, signed in as the person, warm (templates
compiled, files parsed); rounds alternate between the two records so a busy machine
slows both alike. Wall-clock and this process's CPU time are both reported; the
target is on wall-clock p95.

Run from the repository root::

    .venv/bin/python -m bench.bench_budget            # ~20 s on the 2-core VM
    .venv/bin/python -m bench.bench_budget --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock

from tracker import accounts, budget, create_app, plans, records, sharing
from tracker.plans import BudgetHeld, LineCategory, LinePeriod
from tracker.records import log_scope
from tracker.roles import Role
from tracker.store import clear_cache, get_store

TODAY = date(2026, 11, 30)
START = TODAY - timedelta(days=1096)
PASSWORD = "benchmark password 1"  # noqa: S105
TARGET_MS = 50

LINES = (
    ("Personal assistant wages", "240.00", LineCategory.PA_WAGES, LinePeriod.WEEKLY, None),
    ("Employer costs", "175.00", LineCategory.EMPLOYER_COSTS, LinePeriod.MONTHLY, None),
    ("Therapy", "1500.00", LineCategory.THERAPY, LinePeriod.YEARLY, None),
    ("Taxis to groups", "80.00", LineCategory.TRAVEL, LinePeriod.MONTHLY, None),
    ("Riser chair", "650.00", LineCategory.EQUIPMENT, LinePeriod.ONE_OFF, START + timedelta(40)),
    ("Employer's insurance", "120.00", LineCategory.INSURANCE, LinePeriod.YEARLY, None),
)


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 17, 0, tzinfo=UTC)


def build(email: str, first_spend: date) -> tuple[str, int]:
    """A person with the plan's lines and spending from ``first_spend`` to yesterday."""
    person = accounts.create_account(email, "Pat Person", PASSWORD)
    record = records.create_record("Pat Person", created_by=person.id, owner_id=person.id)
    sharing.add_member(record.id, person.id, Role.OWNER)
    plans.save_review_arrangements(
        record.id, by=person.id, start_date=START, next_review=None, interval_months=12
    )
    plans.save_budget(record.id, by=person.id, total=Decimal("19000"), held=BudgetHeld.MIXED)
    for what, amount, category, period, due in LINES:
        plans.add_budget_line(
            record.id,
            by=person.id,
            what=what,
            amount=Decimal(amount),
            category=category,
            period=period,
            due_on=due,
        )
    ids = [line.id for line in plans.get_plan(record.id).budget_lines]
    count = 0
    day = first_spend
    while day < TODAY:
        spends = []
        if day.weekday() == 4:
            spends += [(ids[0], "240.00", "Priya Shah (PA)"), (ids[3], "18.50", "Town Taxis")]
        if day.day == 28:
            spends += [(ids[1], "175.00", "Payroll service"), (ids[2], "125.00", "Therapist")]
        if day == START + timedelta(40):
            spends.append((ids[4], "649.99", "Mobility shop"))
        if (day.month, day.day) == (START.month, START.day):
            spends.append((ids[5], "120.00", "Insurer"))
        # Record each spend on its own day, so it lands in that month's file.
        with mock.patch("tracker.clock.now", return_value=at(day)):
            for line_id, amount, payee in spends:
                budget.record_spending(
                    record.id,
                    on=day,
                    amount=Decimal(amount),
                    payee=payee,
                    line_id=line_id,
                    author_id=person.id,
                    note="Paid by bank transfer",
                )
                count += 1
        day += timedelta(days=1)
    return record.id, count


def sign_in(app, email: str):
    client = app.test_client()
    response = client.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert response.status_code == 303, response.status_code
    return client


def timed(fetch: Callable[[], object], n: int, wall: list[float], cpu: list[float]) -> None:
    for _ in range(n):
        w0, c0 = time.perf_counter(), time.process_time()
        response = fetch()
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert response.status_code == 200, response.status_code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args()
    rounds, per_round = (2, 5) if args.quick else (10, 30)
    logging.getLogger("tracker.request").setLevel(logging.WARNING)

    folder = Path(tempfile.mkdtemp(prefix="bench-budget-"))
    # Only GETs are timed; CSRF is off so signing in needs no token.
    app = create_app(
        {"ENV_NAME": "test", "TRACKER_DATA_DIR": str(folder / "data"), "WTF_CSRF_ENABLED": False}
    )
    app.instance_path = str(folder / "instance")
    now = at(TODAY)
    with mock.patch("tracker.clock.now", return_value=now):
        with app.app_context():
            t0 = time.perf_counter()
            full_id, full_n = build("three.years@example.com", START)
            base_id, base_n = build("one.month@example.com", TODAY - timedelta(days=30))
            built_s = time.perf_counter() - t0
            months = len(get_store().buckets(log_scope(full_id), budget.STREAM))
            # The last plan year: its 2nd anniversary (30 November 2025) to today.
            year_first = budget.anniversary(START, 2)
            rows = (
                budget.spending_statement(full_id, year_first, TODAY).rows,
                budget.spending_statement(base_id, year_first, TODAY).rows,
            )
        # Requests run outside that app context: each gets its own ``g`` (and signed-in user).
        clients = {
            "full": sign_in(app, "three.years@example.com"),
            "base": sign_in(app, "one.month@example.com"),
        }
        query = (
            f"?first[day]={year_first.day}&first[month]={year_first.month}"
            f"&first[year]={year_first.year}&last[day]={TODAY.day}"
            f"&last[month]={TODAY.month}&last[year]={TODAY.year}"
        )
        pages = {
            "budget page": "/records/{}/budget",
            "a year's statement": "/records/{}/budget/statement" + query,
            "a year's statement as CSV": "/records/{}/budget/statement/download" + query,
        }
        ids = {"full": full_id, "base": base_id}
        results: dict[tuple[str, str], tuple[list[float], list[float]]] = {
            (page, which): ([], []) for page in pages for which in ids
        }
        for warm in [False] + [True] * rounds:  # one round first: templates, parsed files
            for page, path in pages.items():
                for which in ids:
                    wall, cpu = results[(page, which)] if warm else ([], [])
                    get = clients[which].get
                    url = path.format(ids[which])
                    timed(lambda get=get, url=url: get(url), per_round, wall, cpu)

    print(
        f"# {date.today()} {platform.node()} Python {platform.python_version()} "
        f"load average {os.getloadavg()[0]:.1f}; built in {built_s:.1f} s"
    )
    print(
        f"# 3 years: {full_n} spending records in {months} month files; "
        f"baseline: {base_n} records; a year's statement has {len(rows[0])} rows "
        f"(baseline {len(rows[1])})"
    )
    print(
        "| page | record | requests | wall p50 ms | wall p95 ms | CPU p50 ms | CPU p95 ms "
        "| target (wall p95) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|")
    failed = False
    for page in pages:
        full_wall, full_cpu = results[(page, "full")]
        base_wall, base_cpu = results[(page, "base")]
        ok = pct(full_wall, 95) < TARGET_MS
        failed |= not ok
        print(
            f"| {page} | 3 years weekly | {len(full_wall)} | {statistics.median(full_wall):.1f} "
            f"| {pct(full_wall, 95):.1f} | {statistics.median(full_cpu):.1f} "
            f"| {pct(full_cpu, 95):.1f} | {'✅' if ok else '❌'} < {TARGET_MS} ms |"
        )
        print(
            f"| {page} | baseline: 1 month | {len(base_wall)} "
            f"| {statistics.median(base_wall):.1f} | {pct(base_wall, 95):.1f} "
            f"| {statistics.median(base_cpu):.1f} | {pct(base_cpu, 95):.1f} | |"
        )
        print(
            f"| **{page}: 3 years ÷ baseline** | | | "
            f"**{statistics.median(full_wall) / statistics.median(base_wall):.2f}×** "
            f"| **{pct(full_wall, 95) / pct(base_wall, 95):.2f}×** | | | |"
        )
    clear_cache()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
