"""Torture tests for the storage layer: many writers at once, and ``kill -9`` mid-write.

These repeat, at CI size, the experiments in ``../shared/research/reliability.md``
(§1.4 a and b) against the real ``tracker.store``: 8 processes or 8 threads writing
one person's log must lose nothing, and a writer killed at a random moment must
leave every file parseable and every acknowledged entry on disk.
Run them with ``pytest -m slow``; together they take about a minute on 2 cores.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tracker import store as store_module
from tracker.store import Store, clear_cache

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
STORE_FILE = str(Path(store_module.__file__).resolve())
PERSON = "records/ab12cd34ef56"
# A fixed time keeps every writer in one month bucket, even at midnight on the 31st.
RECORDED_AT = datetime(2024, 3, 15, 9, 30, tzinfo=UTC)
WORKERS = 8
PER_WORKER = 250
TOTAL = WORKERS * PER_WORKER
JOIN_TIMEOUT = 600  # a hang guard only; a loaded 2-core box needs ~3 min


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def diary_entry(worker: int, n: int) -> dict:
    return {
        "kind": "diary",
        "worker": worker,
        "n": n,
        "mood": n % 5 + 1,
        "symptoms": ["fatigue", "pain"][: n % 3],
        "text": f"Worker {worker} entry {n}: walked to the shop, tired after lunch. " * 2,
    }


def assert_all_appends_landed(root: Path) -> None:
    clear_cache()
    store = Store(root)
    assert store.check_all() == []
    entries = store.list_entries(PERSON, "diary")
    ids = [e["id"] for e in entries]
    assert len(ids) == TOTAL
    assert len(set(ids)) == TOTAL
    pairs = {(e["worker"], e["n"]) for e in entries}
    assert pairs == {(w, n) for w in range(WORKERS) for n in range(PER_WORKER)}
    for entry_id in random.Random(7).sample(ids, 50):
        assert Store(root).get_entry(PERSON, "diary", entry_id)["id"] == entry_id


# --- many writers at once -------------------------------------------------------------


def _append_worker(root: str, worker: int, start) -> None:
    store = Store(root)  # each process builds its own Store
    start.wait()
    for n in range(PER_WORKER):
        store.append_entry(PERSON, "diary", diary_entry(worker, n), recorded_at=RECORDED_AT)


def _counter_worker(root: str, worker: int, start) -> None:
    store = Store(root)
    start.wait()
    for n in range(PER_WORKER):
        with store.transaction(f"{PERSON}/counters") as tx:
            doc = tx.get("counters", "visits") or {"id": "visits", "count": 0, "seen": []}
            doc["count"] += 1
            doc["seen"].append(f"{worker}-{n}")
            tx.replace("counters", doc)
            tx.insert("visits", {"worker": worker, "n": n})


def run_processes(target, root: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(WORKERS)
    procs = [ctx.Process(target=target, args=(str(root), w, start)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(JOIN_TIMEOUT)
    for p in procs:
        if p.is_alive():
            p.kill()
    assert [p.exitcode for p in procs] == [0] * WORKERS


def test_eight_processes_appending_to_one_log_store_every_entry_exactly_once(
    tmp_path: Path,
) -> None:
    root = tmp_path / "data"
    run_processes(_append_worker, root)
    assert_all_appends_landed(root)


def test_eight_threads_appending_to_one_log_store_every_entry_exactly_once(
    tmp_path: Path,
) -> None:
    root = tmp_path / "data"
    start = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            _append_worker(str(root), worker, start)
        except BaseException as exc:  # report every failure, not only the first
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert_all_appends_landed(root)


def test_eight_processes_doing_read_modify_write_lose_no_update(tmp_path: Path) -> None:
    root = tmp_path / "data"
    run_processes(_counter_worker, root)

    clear_cache()
    store = Store(root)
    assert store.check_all() == []
    view = store.read(f"{PERSON}/counters")
    counter = view.get("counters", "visits")
    assert counter["count"] == TOTAL
    assert len(counter["seen"]) == TOTAL
    assert set(counter["seen"]) == {f"{w}-{n}" for w in range(WORKERS) for n in range(PER_WORKER)}
    visits = view.all("visits")
    assert len(visits) == TOTAL
    assert len({v["id"] for v in visits}) == TOTAL


# --- kill -9 in the middle of writes ----------------------------------------------------

KILLS = 100
KILL_SEED = 20240315
BALLAST_SIZES = [0, 1_000, 400_000, 20, 1_500_000, 5_000, 800_000]

# The child acknowledges a write on stdout only after the call has returned.
# The child loads store.py on its own when it can: importing the ``tracker`` package
# pulls in Flask, which would add ~0.3 s to each of the 100 starts.
CHILD = f"""
import importlib.util
import random
import sys
from datetime import UTC, datetime

try:
    spec = importlib.util.spec_from_file_location("store_under_test", {STORE_FILE!r})
    store_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(store_module)
    Store = store_module.Store
except ImportError:  # store.py grew package-relative imports
    from tracker.store import Store

root, run = sys.argv[1], int(sys.argv[2])
store = Store(root)
rng = random.Random(run)
months = [datetime(2024, m, 10, 12, 0, tzinfo=UTC) for m in (1, 2, 3)]
sizes = {BALLAST_SIZES!r}
print("ready", flush=True)
n = 0
ballast = 0
while True:
    entry = {{"run": run, "n": n, "mood": rng.randint(1, 5), "note": "z" * rng.randrange(50, 400)}}
    entry_id = store.append_entry({PERSON!r}, "diary", entry, recorded_at=months[n % 3])
    print("E", entry_id, flush=True)
    n += 1
    if n % 3 == 0:
        tag = f"{{run}}-{{ballast}}"
        pad = "y" * sizes[(run + ballast) % len(sizes)]
        with store.transaction({PERSON + "/ballast"!r}) as tx:
            tx.replace("ballast", {{"id": "ballast", "tag": tag, "pad": pad}})
        print("B", tag, flush=True)
        ballast += 1
"""

ACK = re.compile(r"^(E \d{6}(p\d+)?-[0-9a-f]{12}|B \d+-\d+)$")


def test_kill_9_during_writes_never_corrupts_a_file_or_loses_an_acknowledged_entry(
    tmp_path: Path,
) -> None:
    root = tmp_path / "data"
    script = tmp_path / "writer.py"
    script.write_text(CHILD)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    rng = random.Random(KILL_SEED)
    store = Store(root)
    store.init()

    acked: set[str] = set()
    on_disk_before: set[str] = set()
    ballast_tag: str | None = None  # the last committed ballast version seen on disk
    runs_with_acks = 0
    temp_files_seen = 0

    for run in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(root), str(run)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            # Unbuffered, so readline() cannot swallow acks that communicate() would
            # then never see (it reads the descriptor directly).
            bufsize=0,
        )
        ready = proc.stdout.readline()
        assert ready == b"ready\n", proc.communicate()[1].decode()
        time.sleep(rng.uniform(0.05, 0.4))
        proc.kill()
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, err.decode()

        # A line cut off by the kill was never acknowledged.
        lines = out.decode().split("\n")[:-1]
        assert all(ACK.match(line) for line in lines), lines
        entries_acked = {line[2:] for line in lines if line.startswith("E ")}
        ballast_acked = [line[2:] for line in lines if line.startswith("B ")]
        acked |= entries_acked
        runs_with_acks += bool(lines)

        clear_cache()
        assert store.check_all() == [], f"after kill {run}"
        on_disk = [e["id"] for e in store.list_entries(PERSON, "diary")]
        assert len(on_disk) == len(set(on_disk)), f"duplicate ids after kill {run}"
        on_disk_set = set(on_disk)
        assert acked <= on_disk_set, f"lost after kill {run}: {sorted(acked - on_disk_set)}"
        # At most the one write in flight when the kill came can have landed unacknowledged.
        assert on_disk_before <= on_disk_set
        assert len(on_disk_set - on_disk_before - entries_acked) <= 1
        on_disk_before = on_disk_set

        # The ballast holds the last acknowledged version or the one being written.
        doc = store.read(f"{PERSON}/ballast").get("ballast", "ballast")
        committed = ballast_acked[-1] if ballast_acked else ballast_tag
        in_flight = f"{run}-{len(ballast_acked)}"
        now = doc["tag"] if doc else None
        assert now in {committed, in_flight}, f"after kill {run}"
        ballast_tag = now
        temp_files_seen = len(list(root.rglob(f"{store_module.TEMP_PREFIX}*")))

    assert runs_with_acks >= KILLS // 2, "the writer was killed too early to test anything"
    assert len(acked) >= KILLS

    # Startup clean-up: leftovers from the kills are removed once they are old enough.
    leftovers = list(root.rglob(f"{store_module.TEMP_PREFIX}*"))
    assert len(leftovers) == temp_files_seen
    long_ago = time.time() - store_module.TEMP_MAX_AGE_SECONDS - 60
    for path in leftovers:
        os.utime(path, (long_ago, long_ago))
    data_files = list(store.files())
    assert store.init() == len(leftovers)
    assert list(root.rglob(f"{store_module.TEMP_PREFIX}*")) == []
    assert list(store.files()) == data_files
    assert store.check_all() == []
    print(f"{len(acked)} acknowledged entries, {len(leftovers)} orphan temp files cleaned")
