"""Backups taken while the app writes, and restoring them into an empty folder.

The done-when check is the first test: a backup is taken while 4 processes
write, then restored. Each process appends to its own log, so every version of
its files is a prefix of what it was told was stored: a restored log that is
not such a prefix would be a file that never existed (torn, or mixed up). All
four also change one shared counter, whose count must always equal the list of
who counted. Every write acknowledged before the backup began must be there.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from flask import Flask

from tracker import create_app, deletion, logs, records, sharing
from tracker.backups import MANIFEST, BackupError, check_backup, restore_backup, take_backup
from tracker.roles import Role
from tracker.store import Store, clear_cache

from .conftest import People

WORKERS = 4
RECORDED_AT = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)
WARM_UP = 120  # entries per worker before the backup starts: more than one log part
JOIN_TIMEOUT = 120


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def log_scope(worker: int) -> str:
    return f"records/w{worker}"


def _writer(root: str, worker: int, acks: str, stop) -> None:
    """Append and count until told to stop, noting each write once it is acknowledged."""
    store = Store(root)
    with open(acks, "a", encoding="utf-8") as out:
        n = 0
        while not stop.is_set():
            entry_id = store.append_entry(
                log_scope(worker),
                "log",
                {"worker": worker, "n": n, "text": f"entry {n} " * 20},
                recorded_at=RECORDED_AT,
            )
            out.write(f"entry {entry_id} {time.time_ns()}\n")
            out.flush()
            token = f"{worker}-{n}"
            with store.transaction("system/counter") as tx:
                doc = tx.get("counter", "c") or {"id": "c", "count": 0, "seen": []}
                doc["count"] += 1
                doc["seen"].append(token)
                tx.replace("counter", doc)
            out.write(f"count {token} {time.time_ns()}\n")
            out.flush()
            n += 1


def read_acks(path: Path) -> list[tuple[str, str, int]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(kind, value, int(at)) for kind, value, at in (line.split() for line in lines)]


def test_a_backup_taken_while_4_processes_write_restores_a_state_that_really_existed(
    tmp_path: Path,
) -> None:
    root, dest, restored = tmp_path / "data", tmp_path / "backup", tmp_path / "restored"
    Store(root).init()
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    ack_files = [tmp_path / f"acks-{w}.txt" for w in range(WORKERS)]
    procs = [
        ctx.Process(target=_writer, args=(str(root), w, str(ack_files[w]), stop))
        for w in range(WORKERS)
    ]
    for p in procs:
        p.start()
    try:
        deadline = time.monotonic() + JOIN_TIMEOUT
        while any(not f.exists() or f.read_text().count("entry ") < WARM_UP for f in ack_files):
            assert time.monotonic() < deadline, "the writers did not get going"
            time.sleep(0.05)
        began = time.time_ns()
        take_backup(Store(root), dest)
        ended = time.time_ns()
    finally:
        stop.set()
        for p in procs:
            p.join(JOIN_TIMEOUT)
    assert [p.exitcode for p in procs] == [0] * WORKERS

    restore_backup(dest, restored)
    clear_cache()
    store = Store(restored)
    assert store.check_all() == []
    acks = [read_acks(f) for f in ack_files]
    assert any(began < at < ended for worker in acks for _, _, at in worker), (
        "no write landed while the backup ran, so this proved nothing"
    )

    for worker, worker_acks in enumerate(acks):
        entry_acks = [(value, at) for kind, value, at in worker_acks if kind == "entry"]
        ids = [e["id"] for e in store.list_entries(log_scope(worker), "log")]
        # A version that really existed: exactly the first k entries this worker stored.
        assert ids == [value for value, _ in entry_acks[: len(ids)]]
        assert len(ids) >= sum(1 for _, at in entry_acks if at < began)
        assert len(store.buckets(log_scope(worker), "log")) >= 2

    counter = store.read("system/counter").get("counter", "c")
    assert counter["count"] == len(counter["seen"]) == len(set(counter["seen"]))
    acked_before = {value for w in acks for kind, value, at in w if kind == "count" and at < began}
    all_counted = {value for w in acks for kind, value, _ in w if kind == "count"}
    assert acked_before <= set(counter["seen"]) <= all_counted
    for worker in range(WORKERS):
        mine = [int(t.split("-")[1]) for t in counter["seen"] if t.startswith(f"{worker}-")]
        assert mine == list(range(len(mine)))


# --- what a backup holds --------------------------------------------------------------------


@pytest.fixture
def backed_up(app: Flask, people: People, tmp_path: Path) -> Path:
    """A backup of a small app: a record with a diary entry and a receipt-like picture file."""
    with app.app_context():
        logs.write_diary(people.record_id, author_id=people.owner_id, text="Fed the ducks")
        store = records.get_store()
        store.write_file(f"records/{people.record_id}/receipts", "r1.jpg", b"\xff\xd8\xff photo")
        # A file put in place whole without the store (as the push key is) is copied too.
        (store.root / "system" / "spare.pem").write_bytes(b"-----BEGIN KEY-----")
        take_backup(store, tmp_path / "backup")
    return tmp_path / "backup"


def test_a_backup_holds_every_file_and_a_manifest_of_their_hashes(
    app: Flask, people: People, backed_up: Path
) -> None:
    data = Path(app.config["TRACKER_DATA_DIR"])
    originals = {
        p.relative_to(data).as_posix(): p.read_bytes()
        for p in data.rglob("*")
        if p.is_file() and not p.name.endswith(".lock")
    }
    manifest = orjson.loads((backed_up / MANIFEST).read_bytes())
    assert set(manifest["files"]) == set(originals)
    assert f"records/{people.record_id}/receipts/r1.jpg" in manifest["files"]
    for rel, raw in originals.items():
        assert (backed_up / rel).read_bytes() == raw
    assert check_backup(backed_up) == []
    assert not list(backed_up.rglob("*.lock"))


def test_a_restored_backup_serves_the_same_record(
    people: People, backed_up: Path, tmp_path: Path
) -> None:
    restore_backup(backed_up, tmp_path / "restored")
    clear_cache()
    restored = create_app({"ENV_NAME": "test", "TRACKER_DATA_DIR": str(tmp_path / "restored")})
    with restored.app_context():
        assert records.get_record(people.record_id).name == "Olive Owner"
        diary = logs.raw_entries(people.record_id)
        assert [e["data"]["text"] for e in diary if e["kind"] == "diary"] == ["Fed the ducks"]


def test_a_backup_without_its_manifest_did_not_finish_and_is_refused(
    backed_up: Path, tmp_path: Path
) -> None:
    (backed_up / MANIFEST).unlink()
    with pytest.raises(BackupError, match="did not finish"):
        restore_backup(backed_up, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


@pytest.mark.parametrize("damage", ["change", "remove", "add"])
def test_a_backup_that_differs_from_its_manifest_is_refused(
    backed_up: Path, tmp_path: Path, damage: str
) -> None:
    victim = next(p for p in sorted(backed_up.rglob("*.json")) if p.name != MANIFEST)
    if damage == "change":
        victim.write_bytes(victim.read_bytes().replace(b"{", b"[", 1))
    elif damage == "remove":
        victim.unlink()
    else:
        (backed_up / "records" / "stray.json").write_bytes(b"{}")
    with pytest.raises(BackupError) as refused:
        restore_backup(backed_up, tmp_path / "restored")
    assert len(refused.value.problems) == 1
    assert not (tmp_path / "restored").exists()


def test_a_manifest_naming_a_file_outside_the_backup_is_refused(
    backed_up: Path, tmp_path: Path
) -> None:
    manifest = orjson.loads((backed_up / MANIFEST).read_bytes())
    manifest["files"]["../outside.json"] = {"size": 2, "sha256": "0" * 64}
    (backed_up / MANIFEST).write_bytes(orjson.dumps(manifest))
    with pytest.raises(BackupError, match="outside the backup"):
        restore_backup(backed_up, tmp_path / "restored")
    assert not (tmp_path / "outside.json").exists()


def test_restore_writes_only_into_an_empty_folder(backed_up: Path, tmp_path: Path) -> None:
    target = tmp_path / "in-use"
    target.mkdir()
    (target / "keep.txt").write_text("someone's data")
    with pytest.raises(BackupError, match="not an empty folder"):
        restore_backup(backed_up, target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    (tmp_path / "empty").mkdir()
    assert restore_backup(backed_up, tmp_path / "empty").files > 0


def test_a_backup_is_written_only_into_a_new_or_empty_folder_outside_the_data(
    app: Flask, tmp_path: Path
) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "MANIFEST.json").write_text("{}")
    with app.app_context(), pytest.raises(BackupError, match="not an empty folder"):
        take_backup(records.get_store(), tmp_path / "old")
    assert (tmp_path / "old" / "MANIFEST.json").read_text() == "{}"
    with app.app_context(), pytest.raises(BackupError, match="inside the data folder"):
        take_backup(records.get_store(), Path(app.config["TRACKER_DATA_DIR"]) / "backup")


def test_an_unreadable_data_file_in_a_backup_leaves_the_target_empty(
    backed_up: Path, tmp_path: Path
) -> None:
    rel = "system/broken.json"
    (backed_up / rel).write_bytes(b"{not json")
    manifest = orjson.loads((backed_up / MANIFEST).read_bytes())
    manifest["files"][rel] = {"size": 9, "sha256": hashlib.sha256(b"{not json").hexdigest()}
    (backed_up / MANIFEST).write_bytes(orjson.dumps(manifest))
    target = tmp_path / "restored"
    with pytest.raises(BackupError, match=r"broken\.json"):
        restore_backup(backed_up, target)
    assert list(target.iterdir()) == []


# --- backups and deletion ----------------------------------------------------------------


def test_a_deleted_record_is_not_in_a_later_backup(
    app: Flask, people: People, tmp_path: Path
) -> None:
    with app.app_context():
        deletion.delete_record(people.record_id, actor_id=people.owner_id)
        take_backup(records.get_store(), tmp_path / "backup")
    everything = b"".join(p.read_bytes() for p in (tmp_path / "backup").rglob("*") if p.is_file())
    assert people.record_id.encode() not in everything


def test_a_deletion_waits_for_a_running_backup_and_the_backup_holds_the_whole_record(
    app: Flask, people: People
) -> None:
    with app.app_context():
        store = records.get_store()
        other = records.create_record("Pat Person", created_by=people.coordinator_id)
        sharing.add_member(other.id, people.coordinator_id, Role.COORDINATOR)
        logs.write_diary(people.record_id, author_id=people.owner_id, text="Fed the ducks")
        snapshot = store.snapshot()
        first = [next(snapshot)]  # the backup is under way
        done = threading.Event()

        def delete() -> None:
            with app.app_context():
                deletion.delete_record(people.record_id, actor_id=people.owner_id)
            done.set()

        t = threading.Thread(target=delete)
        t.start()
        assert not done.wait(0.3)  # the deletion waits for the backup
        copied = dict(first + list(snapshot))
        t.join(5)
        assert done.is_set()
    diary = [rel for rel in copied if rel.startswith(f"records/{people.record_id}/log-")]
    assert diary and b"Fed the ducks" in b"".join(copied[rel] for rel in diary)
    assert people.record_id.encode() in copied["system/records.json"]
    assert not (store.root / "records" / people.record_id).exists()


# --- the commands ------------------------------------------------------------------------


def test_the_backup_and_restore_commands_round_trip(
    app: Flask, people: People, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    took = runner.invoke(args=["backup", str(tmp_path / "backup")])
    assert took.exit_code == 0, took.output
    assert "Backed up" in took.output
    again = runner.invoke(args=["backup", str(tmp_path / "backup")])
    assert again.exit_code != 0 and "not an empty folder" in again.output
    back = runner.invoke(args=["restore", str(tmp_path / "backup"), str(tmp_path / "restored")])
    assert back.exit_code == 0, back.output
    assert "Every data file reads" in back.output
    data = Path(app.config["TRACKER_DATA_DIR"])
    assert (tmp_path / "restored" / "system" / "records.json").read_bytes() == (
        data / "system" / "records.json"
    ).read_bytes()
    (tmp_path / "backup" / MANIFEST).unlink()
    refused = runner.invoke(args=["restore", str(tmp_path / "backup"), str(tmp_path / "r2")])
    assert refused.exit_code != 0
    assert "did not finish" in refused.output and "Nothing was restored" in refused.output
