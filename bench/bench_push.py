"""Reminders prepared and sent per second, against a local push service.

The question (issue 6): are one day's reminders for 10,000 people sent in under
15 s, with none lost and none sent twice?

Setup: 10,000 people, each with one browser subscription (10,000 subscriptions in
all, each with its own P-256 key and auth secret), two daily actions and a daily
check-in, all due at 09:00: 3 reminders a person, 30,000 a day, and all of them in
the same minute (the worst case for the sender that cron runs each minute).

The push service is ``tests/pushservice.py`` in a process of its own, so that it
does not take the sender's CPU (``--server-in-process`` runs it in this process
instead, to compare). It checks each request's VAPID JWT, decrypts every body with
the subscription's key and counts messages per (subscription, topic): "lost" and
"sent twice" are counted there, not by the sender.

Measured in the same run, the way things were before beside the way they are:

1. encrypting: pywebpush's ``WebPusher.encode`` and ``push.encrypt`` (CPU);
2. sending from 1 thread: the Sender as it was (pywebpush's encoding, one urllib3
   pool) and ``push.Sender.send`` (CPU), and a naive ``pywebpush.webpush()`` call
   per message (a new claims dict, connection and JWT each time); the Sender from
   1 thread and from 8 (messages a second);
3. claiming 3 reminders for each account, in a copy of the data: one fsynced write
   in each account's own file (before) and one journal write per bucket (now);
4. ``reminders.run_once``: everything the cron job does (read each account's
   preferences, memberships, actions; work out what is due; claim it in the
   journal; encrypt and send) for all 10,000 people, in 1 process or in several
   started together with ``shard=(k, n)`` (``send-reminders --processes n``);
5. ``run_once`` again a minute later, when nothing is due (the cost of the run
   that cron starts every other minute of the day).

The data is built on tmpfs (fast) and then copied to a folder on the real disk,
where it is measured; the per-process parse cache is cleared first, as in a new
cron process (the OS page cache stays warm). Run from the repository root::

    .venv/bin/python -m bench.bench_push --processes 2,1 # ~3 min on the 2-core VM
    .venv/bin/python -m bench.bench_push --people 1000   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.pushservice import PushService, start_in_process
from tracker import (
    accounts,
    actions,
    create_app,
    goals,
    notifications,
    push,
    records,
    reminders,
    sharing,
)
from tracker.notifications import Kind, Preferences, Reminder
from tracker.roles import DEFAULT_CATEGORIES, Role
from tracker.store import SCHEMA_VERSION, _write_atomic, clear_cache, get_store, new_id

LONDON = ZoneInfo("Europe/London")
SUBJECT = "mailto:care-plan-tracker@example.org"
PER_PERSON = 3  # two actions and a check-in
TARGET_SECONDS = 15.0


def write_table(scope: str, table: str, docs: list[dict]) -> None:
    """Write a whole system file at once (10,000 inserts one by one would be O(n²))."""
    store = get_store()
    data = {
        "_meta": {"1": {"schema_version": SCHEMA_VERSION}},
        table: {str(i + 1): doc for i, doc in enumerate(docs)},
    }
    _write_atomic(store._path(scope), data)


def build(app, subscriptions: list[dict], first_day: date) -> list[str]:
    """People, records, memberships, actions, preferences and devices; their ids."""
    now = datetime.now(UTC).isoformat()
    with app.app_context():
        password_hash = accounts.hash_password("bench password 1234")
        people = [
            {
                "id": new_id(),
                "email": f"person{i}@example.org",
                "name": f"Person {i}",
                "password_hash": password_hash,
                "is_coordinator": False,
                "created_at": now,
            }
            for i in range(len(subscriptions))
        ]
        recs = [
            {
                "id": new_id(),
                "name": p["name"],
                "owner_id": p["id"],
                "acting_for": "",
                "created_by": p["id"],
                "created_at": now,
            }
            for p in people
        ]
        members = [
            {
                "id": new_id(),
                "record_id": r["id"],
                "user_id": p["id"],
                "role": Role.OWNER.value,
                "categories": sorted(c.value for c in DEFAULT_CATEGORIES[Role.OWNER]),
                "status": "active",
                "created_at": now,
            }
            for p, r in zip(people, recs, strict=True)
        ]
        write_table(accounts.SCOPE, accounts.TABLE, people)
        write_table(records.SCOPE, records.TABLE, recs)
        write_table(sharing.SCOPE, sharing.TABLE, members)
        nine = clock_time(9, 0)
        prefs = Preferences(checkin_at=nine, actions_at=nine, quiet_start=None, quiet_end=None)

        def person(i: int) -> None:
            with app.app_context():
                p, r, sub = people[i], recs[i], subscriptions[i]
                goal = goals.add_goal(r["id"], outcome="Keep active", by=p["id"])
                for what in ("Take a short walk", "Stretching exercises"):
                    actions.add_action(
                        r["id"],
                        goal_id=goal.id,
                        what=what,
                        owner=actions.Owner.ME,
                        schedule=actions.Schedule(actions.Repeat.DAILY, first_day),
                    )
                notifications.save_preferences(p["id"], prefs)
                notifications.add_device(
                    p["id"],
                    endpoint=sub["endpoint"],
                    p256dh=sub["keys"]["p256dh"],
                    auth=sub["keys"]["auth"],
                    label="Phone",
                )

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(person, range(len(people))))
    return [p["id"] for p in people]


def sample_messages(subscriptions: list[dict], count: int) -> list[tuple[dict, dict, str]]:
    """(subscription, payload, topic) for ``count`` action reminders, one per subscription."""
    prefs = Preferences()
    out = []
    for i, sub in enumerate(subscriptions[:count]):
        reminder = Reminder(f"bench:{i}", Kind.ACTION, "", "/records/x/today")
        out.append((sub, reminders.payload(reminder, prefs, late=False), reminders.topic(reminder)))
    return out


def naive(messages, vapid) -> float:
    """pywebpush's one-call API, as most examples use it."""
    from pywebpush import webpush

    started = time.perf_counter()
    for sub, payload, topic in messages:
        webpush(
            sub,
            json.dumps(payload),
            vapid_private_key=vapid,
            vapid_claims={"sub": SUBJECT},  # a fresh dict: webpush() changes the one it gets
            ttl=reminders.TTL_SECONDS[Kind.ACTION],
            timeout=10,
            headers={"Urgency": "normal", "Topic": topic},
        )
    return time.perf_counter() - started


def with_sender(messages, sender: push.Sender, threads: int) -> float:
    def one(message) -> push.Outcome:
        sub, payload, topic = message
        subscription = push.Subscription(
            sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"]
        )
        return sender.send(subscription, payload, ttl=14400, urgency="normal", topic=topic).outcome

    started = time.perf_counter()
    if threads == 1:
        outcomes = [one(m) for m in messages]
    else:
        with ThreadPoolExecutor(threads) as pool:
            outcomes = list(pool.map(one, messages))
    elapsed = time.perf_counter() - started
    assert all(o is push.Outcome.SENT for o in outcomes), set(outcomes)
    return elapsed


def encrypt_only(messages, sender: push.Sender, *, with_pywebpush: bool) -> float:
    """Encrypting and (cached) signing alone, no network: CPU seconds."""
    from pywebpush import WebPusher

    started = time.process_time()
    for sub, payload, _ in messages:
        body = json.dumps(payload).encode()
        if with_pywebpush:
            WebPusher(sub).encode(body, "aes128gcm")
        else:
            push.encrypt(body, sub["keys"]["p256dh"], sub["keys"]["auth"])
        sender._vapid_headers(sub["endpoint"])
    return time.process_time() - started


def previous_sender(messages, sender: push.Sender) -> float:
    """The Sender as it was before (docs/benchmarks.md, run 3): pywebpush's
    ``WebPusher.encode`` and one urllib3 pool, which writes headers and body in two
    system calls. Same checks and headers; CPU seconds of this process."""
    import urllib3
    from pywebpush import WebPusher

    pool = urllib3.PoolManager(num_pools=4, maxsize=1)
    started = time.process_time()
    for sub, payload, topic in messages:
        body = json.dumps(payload, separators=(",", ":")).encode()
        encrypted = WebPusher(sub).encode(body, "aes128gcm")["body"]
        headers = {
            **sender._vapid_headers(sub["endpoint"]),
            "Content-Type": "application/octet-stream",
            "Content-Encoding": "aes128gcm",
            "TTL": "14400",
            "Urgency": "normal",
            "Topic": topic,
        }
        response = pool.request(
            "POST",
            sub["endpoint"],
            body=encrypted,
            headers=headers,
            timeout=urllib3.Timeout(total=10),
            retries=False,
            redirect=False,
        )
        assert response.status == 201, response.status
    cpu = time.process_time() - started
    pool.clear()
    return cpu


def claim_cost(app, ids: list[str], day: datetime) -> dict:
    """Claiming 3 reminders for each account, in a copy of the data on the same disk:
    one fsynced transaction in each account's own file (ledger and inbox lines, as
    before, 8 threads as ``run_once`` had) against one journal write per bucket
    (now, one thread). Wall seconds."""
    reminder_sets = {
        a: [
            notifications.Claim(
                Reminder(f"bench-claim:{a}:{n}", Kind.ACTION, day.isoformat(), "/x"), False, False
            )
            for n in range(PER_PERSON)
        ]
        for a in ids
    }
    with app.app_context():
        store = get_store()

        def one_account(item: tuple[str, list]) -> None:
            account_id, claims = item
            with app.app_context(), store.transaction(notifications.scope(account_id)) as tx:
                for claim in claims:
                    doc = {"key": claim.reminder.key, "status": "sent", "at": day.isoformat()}
                    tx.insert("bench_ledger", {**doc, "id": claim.reminder.ledger_id})
                    tx.insert("bench_inbox", {**doc, "kind": "action", "url": "/x"})

        started = time.perf_counter()
        with ThreadPoolExecutor(reminders.DEFAULT_WORKERS) as pool:  # as run_once did
            list(pool.map(one_account, reminder_sets.items()))
        per_account = time.perf_counter() - started
        buckets: dict[int, dict] = {}
        for account_id, claims in reminder_sets.items():
            buckets.setdefault(notifications.bucket_of(account_id), {})[account_id] = claims
        started = time.perf_counter()
        for bucket, batch in buckets.items():
            notifications.claim_batch(bucket, batch)
        per_bucket = time.perf_counter() - started
    return {"accounts": len(ids), "per_account": per_account, "per_bucket": per_bucket}


def _child(data: str, now_iso: str, shard: tuple[int, int], workers: int, conn) -> None:
    """One sender process: get ready, wait for "go", run, report."""
    app = create_app(
        {
            "ENV_NAME": "test",
            "TRACKER_DATA_DIR": data,
            "TRACKER_VAPID_SUBJECT": SUBJECT,
            "TRACKER_PUSH_INSECURE_HOSTS": ("127.0.0.1",),
        }
    )
    app.instance_path = str(Path(data).parent / "instance")
    with app.app_context():
        sender = reminders.make_sender(workers)
        conn.send("ready")
        conn.recv()
        cpu = time.process_time()
        stats = reminders.run_once(
            sender, datetime.fromisoformat(now_iso), workers=workers, shard=shard
        )
        conn.send({"sent": stats.sent, "cpu": time.process_time() - cpu, "late": stats.late})
        sender.close()


def in_processes(data: Path, now: datetime, processes: int, workers: int) -> dict:
    """``processes`` senders, one shard each, started at the same moment."""
    ctx = multiprocessing.get_context("spawn")
    pipes, procs = [], []
    for k in range(processes):
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=_child, args=(str(data), now.isoformat(), (k, processes), workers, child)
        )
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    for parent in pipes:
        assert parent.recv() == "ready"
    started = time.perf_counter()
    for parent in pipes:
        parent.send("go")
    results = [parent.recv() for parent in pipes]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    return {
        "seconds": elapsed,
        "sent": sum(r["sent"] for r in results),
        "cpu": sum(r["cpu"] for r in results),
    }


def measured(service_stats, run) -> dict:
    """Run ``run()`` (returning sent and sender CPU) and count at the push service."""
    before = service_stats()
    started = time.perf_counter()
    out = run()
    out.setdefault("seconds", time.perf_counter() - started)
    after = service_stats()
    out.update(
        received=after["received"] - before["received"],
        duplicates=after["duplicates"] - before["duplicates"],
        problems=after["problem_count"] - before["problem_count"],
        server_cpu=after["cpu_seconds"] - before["cpu_seconds"],
        max_body=after["max_body"],
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=2_000, help="messages for 1 and 2")
    parser.add_argument("--workers", type=int, default=reminders.DEFAULT_WORKERS)
    parser.add_argument(
        "--processes",
        default="1,2",
        help="sender processes for each full run, one run (one day) each: e.g. 1,2",
    )
    parser.add_argument("--server-in-process", action="store_true")
    parser.add_argument(
        "--decrypt-every",
        type=int,
        default=1,
        help="the push service decrypts 1 message in N (all are checked and counted)",
    )
    parser.add_argument("--data", default=None, help="folder on the disk to measure in")
    parser.add_argument("--profile", default=None, help="write a cProfile of the first run")
    args = parser.parse_args()
    load_before = os.getloadavg()

    print(f"starting the push service with {args.people} subscriptions …", flush=True)
    t0 = time.perf_counter()
    if args.server_in_process:
        local = PushService(decrypt_every=args.decrypt_every)
        subs = [local.subscribe().json() for _ in range(args.people)]
        service_stats = local.stats
        close_service = local.close
    else:
        remote = start_in_process(args.people, args.decrypt_every)
        subs = remote.subscriptions
        service_stats = remote.stats
        close_service = remote.close
    print(f"  {time.perf_counter() - t0:.1f} s", flush=True)

    shm = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else None
    scratch = Path(tempfile.mkdtemp(prefix="bench-push-", dir=shm))
    disk = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="bench-push-"))
    data = disk / "data"
    runs: list[tuple[str, dict]] = []
    results: dict = {"people": args.people, "workers": args.workers}
    try:
        first_day = datetime.now(LONDON).date() + timedelta(days=1)
        build_app = create_app({"ENV_NAME": "test", "TRACKER_DATA_DIR": str(scratch / "data")})
        build_app.instance_path = str(scratch / "instance")
        print(f"building {args.people} people on tmpfs …", flush=True)
        t0 = time.perf_counter()
        build(build_app, subs, first_day)
        shutil.copytree(scratch / "data", data)
        print(f"  {time.perf_counter() - t0:.1f} s; copied to {data}", flush=True)
        claims_copy = disk / "claims"
        shutil.copytree(scratch / "data", claims_copy)
        claims_app = create_app({"ENV_NAME": "test", "TRACKER_DATA_DIR": str(claims_copy)})
        claims_app.instance_path = str(disk / "instance")
        with claims_app.app_context():
            ids = [a.id for a in accounts.all_accounts()]
        clear_cache()
        print("claiming in each account's file, then in the journal …", flush=True)
        results["claims"] = claim_cost(claims_app, ids, datetime.now(UTC))
        shutil.rmtree(claims_copy, ignore_errors=True)
        clear_cache()

        app = create_app(
            {
                "ENV_NAME": "test",
                "TRACKER_DATA_DIR": str(data),
                "TRACKER_VAPID_SUBJECT": SUBJECT,
                "TRACKER_PUSH_INSECURE_HOSTS": ("127.0.0.1",),
            }
        )
        app.instance_path = str(disk / "instance")
        with app.app_context():
            sender = reminders.make_sender(args.workers)
            messages = sample_messages(subs, min(args.sample, len(subs)))
            n = len(messages)
            received0 = service_stats()["received"]
            results["encrypt_before_ms"] = (
                encrypt_only(messages, sender, with_pywebpush=True) / n * 1000
            )
            results["encrypt_sign_ms"] = (
                encrypt_only(messages, sender, with_pywebpush=False) / n * 1000
            )
            results["naive_per_s"] = n / naive(messages, sender.vapid)
            results["previous_cpu_ms"] = previous_sender(messages, sender) / n * 1000
            cpu = time.process_time()
            results["sender1_per_s"] = n / with_sender(messages, sender, 1)
            results["sender1_cpu_ms"] = (time.process_time() - cpu) / n * 1000
            results["sender8_per_s"] = n / with_sender(messages, sender, 8)
            micro = service_stats()["received"] - received0
            assert micro == 4 * n, (micro, n)

            for day, processes in enumerate(int(p) for p in args.processes.split(",")):
                nine = datetime.combine(
                    first_day + timedelta(days=day), clock_time(9, 0), tzinfo=LONDON
                ).astimezone(UTC)
                label = (
                    f"{processes} process{'es' if processes > 1 else ''} × {args.workers} threads"
                )
                print(f"run_once: {label}, at {nine} …", flush=True)
                if processes == 1:

                    def one_process(nine=nine, day=day) -> dict:
                        clear_cache()  # as a new cron process would start
                        cpu, times = time.process_time(), os.times()
                        if args.profile and day == 0:
                            import cProfile

                            profiler = cProfile.Profile()
                            stats = profiler.runcall(
                                reminders.run_once, sender, nine, workers=args.workers
                            )
                            profiler.dump_stats(args.profile)
                        else:
                            stats = reminders.run_once(sender, nine, workers=args.workers)
                        after = os.times()
                        return {
                            "sent": stats.sent,
                            "cpu": time.process_time() - cpu,
                            "user": after.user - times.user,
                            "sys": after.system - times.system,
                        }

                    out = measured(service_stats, one_process)
                else:
                    out = measured(
                        service_stats,
                        lambda nine=nine, p=processes: in_processes(data, nine, p, args.workers),
                    )
                runs.append((label, out))
                if day == 0:
                    clear_cache()
                    cpu, started = time.process_time(), time.perf_counter()
                    quiet = reminders.run_once(
                        sender, nine + timedelta(minutes=1), workers=args.workers
                    )
                    results["quiet_minute_seconds"] = time.perf_counter() - started
                    results["quiet_minute_cpu"] = time.process_time() - cpu
                    assert quiet.sent == 0
            sender.close()
    finally:
        close_service()
        shutil.rmtree(scratch, ignore_errors=True)
        if not args.data:
            shutil.rmtree(disk, ignore_errors=True)

    expected = args.people * PER_PERSON
    load_after = os.getloadavg()
    print()
    print(
        f"{date.today()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"{platform.platform()} · load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after"
    )
    decrypting = "every message" if args.decrypt_every == 1 else f"1 in {args.decrypt_every}"
    print(
        f"push service: {'same process' if args.server_in_process else 'own process'}, "
        f"decrypting {decrypting}; "
        f"{args.people:,} people × {PER_PERSON} reminders, all due at 09:00"
    )
    print()
    print("| measure | result |")
    print("|---|---:|")
    print(
        f"| encrypt + (cached) sign, no network: pywebpush's `WebPusher.encode` (before) / "
        f"`push.encrypt` (now) | {results['encrypt_before_ms']:.3f} / "
        f"{results['encrypt_sign_ms']:.3f} ms CPU/message |"
    )
    print(f"| naive `webpush()` per message, 1 thread | {results['naive_per_s']:,.0f} messages/s |")
    print(
        f"| sending, 1 thread: Sender before (pywebpush encode + urllib3) / now "
        f"(`push.encrypt` + http.client, one write) | {results['previous_cpu_ms']:.3f} / "
        f"{results['sender1_cpu_ms']:.3f} ms CPU/message |"
    )
    print(f"| `Sender.send`, 1 thread | {results['sender1_per_s']:,.0f} messages/s |")
    print(f"| `Sender.send`, 8 threads | {results['sender8_per_s']:,.0f} messages/s |")
    c = results["claims"]
    print(
        f"| claiming {PER_PERSON} reminders for each of {c['accounts']:,} accounts: one fsynced "
        f"write per account (before) / per journal bucket (now) | {c['per_account']:.1f} s / "
        f"{c['per_bucket']:.2f} s |"
    )
    ok_any = False
    for label, run in runs:
        lost = expected - run["received"]
        ok = (
            run["seconds"] < TARGET_SECONDS
            and lost == 0
            and run["duplicates"] == 0
            and run["problems"] == 0
        )
        ok_any = ok_any or ok
        print(
            f"| `run_once`, {label}: {run['sent']:,} reminders | {run['seconds']:.1f} s = "
            f"{run['sent'] / run['seconds']:,.0f} reminders/s; sender CPU {run['cpu']:.1f} s"
            + (f" (user {run['user']:.1f}, system {run['sys']:.1f})" if "user" in run else "")
            + ", "
            f"push service CPU {run['server_cpu']:.1f} s |"
        )
        print(
            f"| … received / expected | {run['received']:,} / {expected:,} (lost {lost}, "
            f"sent twice {run['duplicates']}, refused {run['problems']}) |"
        )
    print(
        f"| `run_once` a minute later, nothing due | {results['quiet_minute_seconds']:.1f} s "
        f"(CPU {results['quiet_minute_cpu']:.1f} s) |"
    )
    print(f"| largest body on the wire | {max(r['max_body'] for _, r in runs)} bytes |")
    print()
    print(
        f"target: {expected:,} reminders in < {TARGET_SECONDS:.0f} s, none lost or twice: "
        f"{'MET' if ok_any else 'MISSED'}"
    )
    results["runs"] = runs
    print(json.dumps(results, indent=1, default=str), file=sys.stderr)
    return 0 if ok_any else 1


if __name__ == "__main__":
    sys.exit(main())
