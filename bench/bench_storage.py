"""Insert and read latency for one person's log at 100, 1k, 10k and 20k entries.

Compares three ways of keeping a log of ~350-byte diary/mood entries:

* **ours**: ``tracker.store.Store.append_entry`` / ``list_entries``: one JSON file per
  month, flock, temp file + fsync + ``os.replace`` + folder fsync, per-process parse
  cache. Entries are spread as a real person would make them (~20 a day), so 20k
  entries cover ~33 month buckets and the newest bucket is full (~600 entries):
  the timeline ends on the last day of a month, the worst case for an insert.
* **TinyDB JSONStorage**: TinyDB's default, everything in one file, a fresh
  ``TinyDB(path)`` per operation (no lock and no fsync, so it is *not* safe; it is
  here as the baseline the research measured).
* **sqlite3 WAL**: stdlib sqlite3, ``journal_mode=WAL``, ``synchronous=FULL`` (as
  durable as ours), one row per entry, a new connection per operation (as Flask's
  per-request ``get_db()``), one commit per insert; rows decoded with orjson.

Every timed insert is undone by an untimed delete, so each size is measured at
exactly N entries. A "cold" read of ours clears the parse cache first (the OS page
cache stays warm for all three); a "warm" read is a cache hit after the file was
read once. Run from the repository root::

    .venv/bin/python -m bench.bench_storage            # ~1.5 min on an idle 2-core VM
    .venv/bin/python -m bench.bench_storage --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import tinydb
from tinydb import TinyDB

from tracker.store import ENTRIES_TABLE, Store, clear_cache, new_id

PERSON = "records/ab12cd34ef56"
STREAM = "diary"
PER_DAY = 20
SPACING = timedelta(days=1) / PER_DAY
# The last prefilled entry falls on the last day of a month, so the newest bucket
# is full (~600 entries) for every size above 600: the worst case for an insert.
END = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
INSERT_AT = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)  # same month as END

SIZES = [100, 1_000, 10_000, 20_000]
TARGET_RATIO = 1.5
WARMUP = 3


# --- data --------------------------------------------------------------------------

NOTES = [
    "Walked to the corner shop with Sam, knees sore after. Slept badly; took paracetamol at 2am.",
    "Good morning, did the breathing exercises twice. Appointment with the physio on Thursday.",
    "Tired after lunch and skipped the walk. Carer came at 4; we sorted the tablets for the week.",
    "Low mood most of the day. Phoned my sister, which helped. Ate a proper dinner for once.",
]
SYMPTOMS = ["fatigue", "joint pain", "headache", "breathless", "dizzy", "low appetite"]


def make_entry(rng: random.Random) -> dict:
    """A diary/mood/symptom entry of about 280 bytes (about 350 with id and time)."""
    return {
        "kind": rng.choice(["mood", "symptom", "diary"]),
        "mood": rng.randint(1, 5),
        "energy": rng.randint(1, 5),
        "anxiety": rng.randint(1, 5),
        "sleep_hours": rng.choice([4.5, 5, 6, 6.5, 7, 8]),
        "symptoms": rng.sample(SYMPTOMS, 2),
        "goal_id": "a1b2c3d4e5f6",
        "author": rng.choice(["person", "carer"]),
        "note": rng.choice(NOTES)[: rng.randint(90, 95)],
    }


def timeline(n: int) -> list[datetime]:
    """``n`` timestamps ~20 a day, oldest first, the last one at ``END``."""
    return [END - SPACING * (n - 1 - k) for k in range(n)]


def month(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def stored_entry(rng: random.Random, at: datetime) -> dict:
    doc = make_entry(rng)
    doc["id"] = f"{at.year:04d}{at.month:02d}-{new_id()}"
    doc["recorded_at"] = at.isoformat()
    return doc


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


def sample(samples: list[int], op: Callable[[], object], reps: int, before=None, after=None):
    """Time ``op`` ``reps`` times, appending nanoseconds to ``samples``; setup is untimed."""
    for _ in range(reps):
        if before is not None:
            before()
        t0 = time.perf_counter_ns()
        result = op()
        samples.append(time.perf_counter_ns() - t0)
        if after is not None:
            after(result)


# --- the three backends ----------------------------------------------------------------


class Ours:
    name = "ours"

    def __init__(self, root: Path) -> None:
        self.store = Store(root)
        self.store.init()

    def prefill(self, n: int, rng: random.Random) -> None:
        """One transaction per month bucket, through the Store's own API."""
        by_month: dict[str, list[dict]] = {}
        for at in timeline(n):
            by_month.setdefault(month(at), []).append(stored_entry(rng, at))
        for bucket, docs in by_month.items():
            scope = f"{PERSON}/{STREAM}-{bucket}"
            # A bucket file is also addressable as a document scope; check that it is
            # the very file append_entry uses before relying on it.
            assert self.store._path(scope) == self.store._bucket_path(PERSON, STREAM, bucket)
            with self.store.transaction(scope) as tx:
                for doc in docs:
                    tx.insert(ENTRIES_TABLE, doc)
        clear_cache()
        assert len(self.store.list_entries(PERSON, STREAM)) == n

    def insert(self, doc: dict) -> str:
        return self.store.append_entry(PERSON, STREAM, doc, recorded_at=INSERT_AT)

    def undo_insert(self, entry_id: str) -> None:
        assert self.store.delete_entry(PERSON, STREAM, entry_id)

    def read_all(self) -> list[dict]:
        return self.store.list_entries(PERSON, STREAM)

    def read_recent(self) -> list[dict]:
        """Only the newest month, as a "this month" page would."""
        return self.store.list_entries(PERSON, STREAM, recorded_since=INSERT_AT)

    def newest_bucket_size(self) -> int:
        return len(self.read_recent())

    def buckets(self) -> int:
        return len(self.store.buckets(PERSON, STREAM))


class TinyJSON:
    name = "TinyDB JSONStorage"

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / "person.json"

    def prefill(self, n: int, rng: random.Random) -> None:
        # Exactly what TinyDB itself writes: {"_default": {"1": {...}, ...}}.
        table = {str(k + 1): stored_entry(rng, at) for k, at in enumerate(timeline(n))}
        self.path.write_text(json.dumps({"_default": table}))
        with TinyDB(self.path) as db:
            assert len(db) == n

    def insert(self, doc: dict) -> int:
        doc = {**doc, "id": f"202610-{new_id()}", "recorded_at": INSERT_AT.isoformat()}
        with TinyDB(self.path) as db:
            return db.insert(doc)

    def undo_insert(self, doc_id: int) -> None:
        with TinyDB(self.path) as db:
            db.remove(doc_ids=[doc_id])

    def read_all(self) -> list[dict]:
        with TinyDB(self.path) as db:
            return db.all()


class SqliteWAL:
    name = "sqlite3 WAL"

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / "tracker.sqlite3"
        with self.connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(
                "CREATE TABLE IF NOT EXISTS entries (id TEXT PRIMARY KEY, person TEXT NOT NULL,"
                " stream TEXT NOT NULL, recorded_at TEXT NOT NULL, body BLOB NOT NULL)"
            )
            con.execute(
                "CREATE INDEX IF NOT EXISTS entries_by_time"
                " ON entries (person, stream, recorded_at)"
            )
        con.close()

    def connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path)
        con.execute("PRAGMA synchronous=FULL")
        return con

    def prefill(self, n: int, rng: random.Random) -> None:
        rows = []
        for at in timeline(n):
            doc = stored_entry(rng, at)
            rows.append((doc["id"], PERSON, STREAM, doc["recorded_at"], orjson.dumps(doc)))
        con = self.connect()
        with con:
            con.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", rows)
        con.close()
        assert len(self.read_all()) == n

    def insert(self, doc: dict) -> str:
        doc = {**doc, "id": f"202610-{new_id()}", "recorded_at": INSERT_AT.isoformat()}
        con = self.connect()
        try:
            with con:  # one transaction, committed
                con.execute(
                    "INSERT INTO entries VALUES (?, ?, ?, ?, ?)",
                    (doc["id"], PERSON, STREAM, doc["recorded_at"], orjson.dumps(doc)),
                )
        finally:
            con.close()
        return doc["id"]

    def undo_insert(self, entry_id: str) -> None:
        con = self.connect()
        with con:
            con.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
        con.close()

    def read_all(self) -> list[dict]:
        con = self.connect()
        try:
            rows = con.execute(
                "SELECT body FROM entries WHERE person = ? AND stream = ? ORDER BY recorded_at",
                (PERSON, STREAM),
            ).fetchall()
        finally:
            con.close()
        return [orjson.loads(body) for (body,) in rows]


# --- the run -----------------------------------------------------------------------------


def reps_for(backend: str, n: int, quick: bool) -> tuple[int, int]:
    """(inserts, reads) to time: a few hundred where cheap, fewer where slow."""
    if backend == "TinyDB JSONStorage":
        inserts = {100: 300, 1_000: 200, 10_000: 50}.get(n, 30)
        reads = {100: 300, 1_000: 200, 10_000: 50}.get(n, 30)
    else:
        inserts, reads = 300, ({20_000: 60, 10_000: 100}.get(n, 300))
    if quick:
        inserts, reads = max(5, inserts // 20), max(5, reads // 20)
    return inserts, reads


def share(total: int, r: int, rounds: int) -> int:
    """Round ``r``'s part of ``total`` repetitions spread over ``rounds`` rounds."""
    return total // rounds + (r < total % rounds)


def measure(workdir: Path, sizes: list[int], quick: bool, rounds: int) -> dict:
    """Prefill every (size, backend), then time them in interleaved rounds.

    Interleaving spreads any background load on a shared machine evenly over every
    cell of the table instead of spoiling whichever size happened to run during it.
    """
    rng = random.Random(2026)
    cells: dict[tuple[int, str], object] = {}
    results: dict = {n: {} for n in sizes}
    for n in sizes:
        for cls in (Ours, TinyJSON, SqliteWAL):
            backend = cls(workdir / f"{cls.__name__.lower()}-{n}")
            t0 = time.perf_counter()
            backend.prefill(n, rng)
            for _ in range(WARMUP):  # first parse, page cache, sqlite schema load
                backend.undo_insert(backend.insert(make_entry(rng)))
            cells[n, backend.name] = backend
            kinds = ["read_cold", "read_warm", "recent_cold"] if cls is Ours else ["read"]
            results[n][backend.name] = {"insert": [], **{k: [] for k in kinds}}
            print(
                f"  prefilled {n:>6} {backend.name:<19} in {time.perf_counter() - t0:5.1f} s",
                file=sys.stderr,
                flush=True,
            )

    for r in range(rounds):
        for (n, name), backend in cells.items():
            n_ins, n_read = reps_for(name, n, quick)
            res = results[n][name]
            sample(
                res["insert"],
                lambda b=backend: b.insert(make_entry(rng)),
                share(n_ins, r, rounds),
                after=backend.undo_insert,
            )
            if isinstance(backend, Ours):
                sample(
                    res["read_cold"], backend.read_all, share(n_read, r, rounds), before=clear_cache
                )
                backend.read_all()
                sample(res["read_warm"], backend.read_all, share(n_read, r, rounds))
                sample(
                    res["recent_cold"],
                    backend.read_recent,
                    share(n_read, r, rounds),
                    before=clear_cache,
                )
            else:
                sample(res["read"], backend.read_all, share(n_read, r, rounds))
        print(f"  round {r + 1}/{rounds} done", file=sys.stderr, flush=True)

    for (n, name), backend in cells.items():
        res = results[n][name]
        for kind in list(res):
            res[kind] = Stat.of(res[kind])
        if isinstance(backend, Ours):
            assert len(backend.read_all()) == n  # every timed insert was undone
            res["newest_bucket"] = backend.newest_bucket_size()
            res["buckets"] = backend.buckets()
    return results


def ms(x: float) -> str:
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×"


def report(results: dict, sizes: list[int]) -> str:
    base = results[sizes[0]]["ours"]
    lines = [
        "### Insert one entry (ms)",
        "",
        "| entries | buckets (newest holds) | ours p50 | ours p95"
        " | JSONStorage p50 | JSONStorage p95 | sqlite p50 | sqlite p95"
        " | ours ÷ JSONStorage (p50) | ours ÷ sqlite (p50)"
        f" | ours@N ÷ ours@{sizes[0]} p50 | p95 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        o, t, s = (results[n][k] for k in ("ours", "TinyDB JSONStorage", "sqlite3 WAL"))
        oi, ti, si = o["insert"], t["insert"], s["insert"]
        lines.append(
            f"| {n:,} | {o['buckets']} ({o['newest_bucket']}) | {ms(oi.p50)} | {ms(oi.p95)}"
            f" | {ms(ti.p50)} | {ms(ti.p95)} | {ms(si.p50)} | {ms(si.p95)}"
            f" | {ratio(oi.p50, ti.p50)} | {ratio(oi.p50, si.p50)}"
            f" | {ratio(oi.p50, base['insert'].p50)} | {ratio(oi.p95, base['insert'].p95)} |"
        )
    lines += [
        "",
        "Samples per size (ours / JSONStorage / sqlite): "
        + ", ".join(
            f"{n:,}: {results[n]['ours']['insert'].n} / "
            f"{results[n]['TinyDB JSONStorage']['insert'].n} / "
            f"{results[n]['sqlite3 WAL']['insert'].n}"
            for n in sizes
        )
        + ".",
        "",
        "### Read every entry of the person's log (ms)",
        "",
        "| entries | ours cold p50 | ours cold p95 | ours warm p50 | ours warm p95"
        " | ours newest month, cold p50 | JSONStorage p50 | JSONStorage p95"
        " | sqlite p50 | sqlite p95"
        " | ours cold ÷ JSONStorage (p50) | ours cold ÷ sqlite (p50) | ours warm ÷ sqlite (p50)"
        f" | ours cold@N ÷ @{sizes[0]} (p50) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        o, t, s = (results[n][k] for k in ("ours", "TinyDB JSONStorage", "sqlite3 WAL"))
        oc, ow, orc, tr, sr = o["read_cold"], o["read_warm"], o["recent_cold"], t["read"], s["read"]
        lines.append(
            f"| {n:,} | {ms(oc.p50)} | {ms(oc.p95)} | {ms(ow.p50)} | {ms(ow.p95)} | {ms(orc.p50)}"
            f" | {ms(tr.p50)} | {ms(tr.p95)} | {ms(sr.p50)} | {ms(sr.p95)}"
            f" | {ratio(oc.p50, tr.p50)} | {ratio(oc.p50, sr.p50)} | {ratio(ow.p50, sr.p50)}"
            f" | {ratio(oc.p50, base['read_cold'].p50)} |"
        )
    top, bottom = results[sizes[-1]]["ours"]["insert"], base["insert"]
    lines += [
        "",
        f"### Target: an insert at {sizes[-1]:,} entries costs at most "
        f"{TARGET_RATIO}× the cost at {sizes[0]:,}",
        "",
    ]
    for label, a, b in (("p50", top.p50, bottom.p50), ("p95", top.p95, bottom.p95)):
        verdict = "holds" if a <= TARGET_RATIO * b else "DOES NOT HOLD"
        lines.append(f"- {label}: {ms(a)} ms vs {ms(b)} ms = {a / b:.2f}× → **{verdict}**")
    # An insert rewrites only the newest month, so the fair "does history cost anything"
    # comparison is against the smallest size whose newest bucket is as full.
    full = [n for n in sizes if results[n]["ours"]["newest_bucket"] == newest(results, sizes[-1])]
    if full and full[0] != sizes[-1]:
        ref = results[full[0]]["ours"]["insert"]
        lines.append(
            f"- for comparison, {sizes[-1]:,} vs {full[0]:,} entries (newest bucket equally full, "
            f"{newest(results, sizes[-1])} entries): p50 {top.p50 / ref.p50:.2f}×, "
            f"p95 {top.p95 / ref.p95:.2f}×"
        )
    return "\n".join(lines)


def newest(results: dict, n: int) -> int:
    return results[n]["ours"]["newest_bucket"]


def machine_note() -> str:
    return (
        f"{date.today().isoformat()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, tinydb {tinydb.__version__}, "
        f"SQLite {sqlite3.sqlite_version}, orjson {orjson.__version__}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--quick", action="store_true", help="a few samples only (smoke test)")
    parser.add_argument("--dir", type=Path, help="work here instead of a temporary folder")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved measuring rounds")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-storage-", dir=args.dir))
    started = time.perf_counter()
    try:
        print(f"working in {workdir} (same filesystem for all three)", file=sys.stderr)
        results = measure(workdir, sorted(args.sizes), args.quick, max(1, args.rounds))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"Machine: {machine_note()}")
    print(
        f"Entry: ~{len(orjson.dumps(stored_entry(random.Random(1), END)))} bytes stored, "
        f"{PER_DAY} a day; fsync on: ours and sqlite (synchronous=FULL); JSONStorage never fsyncs."
    )
    print(f"Run time: {time.perf_counter() - started:.0f} s")
    print()
    print(report(results, sorted(args.sizes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
