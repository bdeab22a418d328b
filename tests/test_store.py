"""Unit tests for the storage layer's public interface (``tracker/store.py``).

Every test works in its own ``tmp_path`` and clears the per-process parse cache
first, so no test can see another's files through the cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tracker import store as store_module
from tracker.store import (
    SCHEMA_VERSION,
    NewerSchema,
    Store,
    StoreError,
    UnreadableFile,
    View,
    clear_cache,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
PERSON = "records/ab12cd34ef56"
MARCH = datetime(2024, 3, 15, 9, 30, tzinfo=UTC)
APRIL = datetime(2024, 4, 2, 18, 0, tzinfo=UTC)
MAY = datetime(2024, 5, 20, 7, 45, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "data")
    s.init()
    return s


def mood(score: int = 3, note: str = "Slept badly, walked to the shop") -> dict:
    return {"kind": "mood", "score": score, "note": note}


def temp_files(root: Path) -> list[Path]:
    return sorted(root.rglob(f"{store_module.TEMP_PREFIX}*"))


def run_in_another_process(root: Path, tmp_path: Path, body: str) -> None:
    """Run ``body`` in a fresh interpreter with ``store`` bound to a Store on ``root``."""
    script = tmp_path / "other_process.py"
    script.write_text(
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from tracker.store import Store\n"
        "store = Store(sys.argv[1])\n" + textwrap.dedent(body)
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    subprocess.run([sys.executable, str(script), str(root)], check=True, env=env, timeout=60)


# --- documents and transactions ---------------------------------------------------


def test_reading_a_scope_that_was_never_written_gives_an_empty_view(store: Store) -> None:
    view = store.read("system/accounts")
    assert isinstance(view, View)
    assert not view.exists
    assert view.all("accounts") == []
    assert view.get("accounts", "nobody") is None
    assert not (store.root / "system" / "accounts.json").exists()


def test_a_transaction_writes_its_changes_and_a_later_read_sees_them(store: Store) -> None:
    with store.transaction("system/accounts") as tx:
        new = tx.insert("accounts", {"email": "sam@example.org", "role": "person"})
        tx.insert("accounts", {"id": "carer1", "email": "kim@example.org", "role": "carer"})

    view = store.read("system/accounts")
    assert view.exists
    assert view.get("accounts", new)["email"] == "sam@example.org"
    assert [d["id"] for d in view.find("accounts", role="carer")] == ["carer1"]
    assert len(view.all("accounts")) == 2


def test_a_new_file_records_the_current_schema_version(store: Store) -> None:
    with store.transaction("system/settings") as tx:
        tx.insert("settings", {"id": "site", "name": "Tracker"})
    raw = json.loads((store.root / "system" / "settings.json").read_bytes())
    assert raw["_meta"]["1"]["schema_version"] == SCHEMA_VERSION


def test_a_transaction_that_raises_writes_nothing(store: Store) -> None:
    with store.transaction("system/accounts") as tx:
        tx.insert("accounts", {"id": "a1", "email": "sam@example.org"})
    path = store.root / "system" / "accounts.json"
    before = path.read_bytes()

    with pytest.raises(RuntimeError), store.transaction("system/accounts") as tx:
        tx.insert("accounts", {"id": "a2", "email": "kim@example.org"})
        tx.update("accounts", "a1", {"email": "changed@example.org"})
        raise RuntimeError("validation failed half way")

    assert path.read_bytes() == before
    assert store.read("system/accounts").get("accounts", "a2") is None
    assert temp_files(store.root) == []


def test_a_transaction_that_changes_nothing_does_not_create_or_rewrite_the_file(
    store: Store,
) -> None:
    with store.transaction("system/empty") as tx:
        assert tx.all("anything") == []
    assert not (store.root / "system" / "empty.json").exists()

    with store.transaction("system/accounts") as tx:
        tx.insert("accounts", {"id": "a1"})
    path = store.root / "system" / "accounts.json"
    stamp = path.stat().st_mtime_ns
    with store.transaction("system/accounts") as tx:
        assert tx.get("accounts", "a1") == {"id": "a1"}
        assert tx.find("accounts", id="a1") == [{"id": "a1"}]
        assert tx.all("accounts") == [{"id": "a1"}]
    assert path.stat().st_mtime_ns == stamp


def test_an_update_or_remove_that_matches_nothing_does_not_rewrite_the_file(store: Store) -> None:
    with store.transaction("system/accounts") as tx:
        tx.insert("accounts", {"id": "a1"})
    path = store.root / "system" / "accounts.json"
    stamp = path.stat().st_mtime_ns
    with store.transaction("system/accounts") as tx:
        assert tx.update("accounts", "nobody", {"x": 1}) is False
        assert tx.remove("accounts", "nobody") is False
    assert path.stat().st_mtime_ns == stamp


def test_a_transaction_can_get_find_update_replace_and_remove_documents(store: Store) -> None:
    with store.transaction("records/p1/plan") as tx:
        for n in range(5):
            tx.insert("goals", {"id": f"g{n}", "status": "open" if n % 2 else "done", "n": n})

    with store.transaction("records/p1/plan") as tx:
        assert tx.get("goals", "g3") == {"id": "g3", "status": "open", "n": 3}
        assert tx.get("goals", "missing") is None
        assert sorted(d["id"] for d in tx.find("goals", status="open")) == ["g1", "g3"]
        assert tx.update("goals", "g1", {"status": "done", "id": "hijacked"}) is True
        tx.replace("goals", {"id": "g2", "status": "paused"})
        tx.replace("goals", {"id": "g9", "status": "new"})
        assert tx.remove("goals", "g0") is True
        assert tx.remove("goals", "g0") is False
        assert tx.remove_where("goals", lambda d: d.get("n") == 4) == 1
        # Dicts handed out by a transaction are copies: changing one changes nothing.
        tx.get("goals", "g3")["status"] = "scribbled on"

    view = store.read("records/p1/plan")
    goals = {d["id"]: d for d in view.all("goals")}
    assert set(goals) == {"g1", "g2", "g3", "g9"}
    assert goals["g1"] == {"id": "g1", "status": "done", "n": 1}
    assert goals["g2"] == {"id": "g2", "status": "paused"}
    assert goals["g3"]["status"] == "open"
    assert goals["g9"] == {"id": "g9", "status": "new"}


def test_inserting_a_duplicate_id_in_a_transaction_is_refused_and_nothing_is_written(
    store: Store,
) -> None:
    with store.transaction("records/p1/plan") as tx:
        tx.insert("goals", {"id": "g1", "text": "first"})
    with (
        pytest.raises(StoreError, match="duplicate id"),
        store.transaction("records/p1/plan") as tx,
    ):
        tx.insert("goals", {"id": "g2", "text": "second"})
        tx.insert("goals", {"id": "g1", "text": "clash"})
    assert [d["text"] for d in store.read("records/p1/plan").all("goals")] == ["first"]


def test_written_files_are_plain_json_and_leave_no_temp_files(store: Store) -> None:
    with store.transaction("records/p1/plan") as tx:
        tx.insert("goals", {"id": "g1", "text": "Walk to the park — twice a week"})
    store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    for path in store.files():
        json.loads(path.read_bytes())
    assert temp_files(store.root) == []


def test_a_failed_replace_leaves_the_old_file_intact_and_no_temp_file(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.transaction("records/p1/plan") as tx:
        tx.insert("goals", {"id": "g1", "text": "old"})
    path = store.root / "records" / "p1" / "plan.json"
    before = path.read_bytes()

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module.os, "replace", disk_full)
    with pytest.raises(OSError), store.transaction("records/p1/plan") as tx:
        tx.update("goals", "g1", {"text": "new"})
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert temp_files(store.root) == []
    assert store.read("records/p1/plan").get("goals", "g1")["text"] == "old"


def test_every_write_moves_the_mtime_forward_even_when_the_clock_stands_still(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The parse cache is keyed by (inode, size, mtime): a rewrite must never
    # reproduce the previous key, even within one clock tick.
    frozen = time.time_ns()
    monkeypatch.setattr(store_module.time, "time_ns", lambda: frozen)
    path = store.root / "records" / "p1" / "plan.json"
    stamps = []
    for n in range(5):
        with store.transaction("records/p1/plan") as tx:
            tx.replace("goals", {"id": "g1", "n": n})
        stamps.append(path.stat().st_mtime_ns)
    assert stamps == sorted(set(stamps))
    assert store.read("records/p1/plan").get("goals", "g1")["n"] == 4


# --- entries in month buckets -------------------------------------------------------


def test_an_appended_entry_can_be_fetched_by_its_id(store: Store) -> None:
    entry_id = store.append_entry(PERSON, "diary", mood(4), recorded_at=MARCH)
    got = store.get_entry(PERSON, "diary", entry_id)
    assert got == {**mood(4), "id": entry_id, "recorded_at": MARCH.isoformat()}


def test_an_entry_id_names_the_month_it_was_recorded_in(store: Store) -> None:
    entry_id = store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    assert entry_id.startswith("202403-")
    assert store.buckets(PERSON, "diary") == ["2024-03"]
    assert (store.root / PERSON / "diary-2024-03.json").is_file()


def test_an_entry_without_a_time_goes_into_the_current_month(store: Store) -> None:
    before = datetime.now(UTC)
    entry_id = store.append_entry(PERSON, "diary", mood())
    after = datetime.now(UTC)
    months = {f"{t.year:04d}{t.month:02d}" for t in (before, after)}
    assert entry_id.split("-")[0] in months
    recorded = datetime.fromisoformat(store.get_entry(PERSON, "diary", entry_id)["recorded_at"])
    assert before <= recorded <= after


def test_the_bucket_follows_the_utc_month_of_recorded_at(store: Store) -> None:
    # 00:30 on 1 April in UTC+2 is still 31 March in UTC.
    local = datetime(2024, 4, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    entry_id = store.append_entry(PERSON, "diary", mood(), recorded_at=local)
    assert entry_id.startswith("202403-")
    assert store.get_entry(PERSON, "diary", entry_id)["recorded_at"] == "2024-03-31T22:30:00+00:00"


def test_an_entry_keeps_its_own_recorded_at_field_if_it_has_one(store: Store) -> None:
    entry_id = store.append_entry(
        PERSON, "diary", {**mood(), "recorded_at": "client-supplied"}, recorded_at=MARCH
    )
    assert entry_id.startswith("202403-")
    assert store.get_entry(PERSON, "diary", entry_id)["recorded_at"] == "client-supplied"


def test_an_entry_cannot_choose_its_own_id(store: Store) -> None:
    entry_id = store.append_entry(PERSON, "diary", {**mood(), "id": "202403-evil00"}, MARCH)
    assert entry_id != "202403-evil00"
    assert store.get_entry(PERSON, "diary", entry_id)["id"] == entry_id


def test_timestamps_without_a_timezone_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone"):
        store.append_entry(PERSON, "diary", mood(), recorded_at=datetime(2024, 3, 1, 12, 0))
    with pytest.raises(ValueError, match="timezone"):
        store.list_entries(PERSON, "diary", recorded_since=datetime(2024, 3, 1))
    assert not (store.root / PERSON).exists()


def test_an_append_replayed_with_the_same_client_key_is_stored_once(store: Store) -> None:
    first = store.append_entry(
        PERSON, "diary", mood(2), recorded_at=MARCH, client_key="a1b2c3d4e5f6"
    )
    path = store.root / PERSON / "diary-2024-03.json"
    before = path.read_bytes()
    replay = store.append_entry(
        PERSON, "diary", mood(5), recorded_at=MARCH + timedelta(days=3), client_key="a1b2c3d4e5f6"
    )
    assert replay == first == "202403-a1b2c3d4e5f6"
    assert path.read_bytes() == before
    entries = store.list_entries(PERSON, "diary")
    assert len(entries) == 1
    assert entries[0]["score"] == 2


def test_a_replay_in_the_next_month_finds_the_entry_saved_the_month_before(store: Store) -> None:
    a = store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH, client_key="k1k2k3k4")
    b = store.append_entry(PERSON, "diary", mood(), recorded_at=APRIL, client_key="k1k2k3k4")
    assert a == b == "202403-k1k2k3k4"
    assert len(store.list_entries(PERSON, "diary")) == 1


@pytest.mark.parametrize("key", ["short", "UPPERCASE1", "has-dash1", "../../etc", "a" * 41, ""])
def test_a_malformed_client_key_is_refused(store: Store, key: str) -> None:
    with pytest.raises(ValueError, match="client key"):
        store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH, client_key=key)
    assert store.list_entries(PERSON, "diary") == []


def test_updating_an_entry_changes_its_fields_but_never_its_id(store: Store) -> None:
    entry_id = store.append_entry(PERSON, "diary", mood(2), recorded_at=MARCH)
    assert store.update_entry(PERSON, "diary", entry_id, {"score": 4, "id": "202403-other1"})
    got = store.get_entry(PERSON, "diary", entry_id)
    assert got["score"] == 4
    assert got["id"] == entry_id
    assert store.get_entry(PERSON, "diary", "202403-other1") is None


def test_updating_or_deleting_an_entry_that_does_not_exist_returns_false(store: Store) -> None:
    store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    path = store.root / PERSON / "diary-2024-03.json"
    before = path.read_bytes()
    for missing in [
        "202403-000000000000",
        "209912-abcdefabcdef",
        "not-an-id",
        "",
        "2024-03-abcdef",
    ]:
        assert store.update_entry(PERSON, "diary", missing, {"score": 1}) is False
        assert store.delete_entry(PERSON, "diary", missing) is False
        assert store.get_entry(PERSON, "diary", missing) is None
    assert path.read_bytes() == before
    assert not (store.root / PERSON / "diary-2099-12.json").exists()


def test_a_deleted_entry_is_gone_from_the_file_on_disk(store: Store) -> None:
    keep = store.append_entry(PERSON, "diary", mood(note="keep this one"), recorded_at=MARCH)
    gone = store.append_entry(PERSON, "diary", mood(note="private words to erase"), MARCH)
    assert store.delete_entry(PERSON, "diary", gone) is True
    assert store.get_entry(PERSON, "diary", gone) is None
    assert store.get_entry(PERSON, "diary", keep) is not None
    raw = (store.root / PERSON / "diary-2024-03.json").read_bytes()
    assert b"private words to erase" not in raw
    assert gone.encode() not in raw
    assert store.delete_entry(PERSON, "diary", gone) is False


def test_list_entries_returns_months_oldest_first_in_insertion_order(store: Store) -> None:
    ids = [
        store.append_entry(PERSON, "diary", mood(1), recorded_at=MAY),
        store.append_entry(PERSON, "diary", mood(2), recorded_at=MARCH),
        store.append_entry(PERSON, "diary", mood(3), recorded_at=APRIL),
        store.append_entry(PERSON, "diary", mood(4), recorded_at=MARCH),
    ]
    listed = [e["id"] for e in store.list_entries(PERSON, "diary")]
    assert listed == [ids[1], ids[3], ids[2], ids[0]]
    assert store.buckets(PERSON, "diary") == ["2024-03", "2024-04", "2024-05"]


def test_list_entries_since_a_date_skips_whole_months_before_it(store: Store) -> None:
    store.append_entry(PERSON, "diary", mood(1), recorded_at=MARCH)
    april = store.append_entry(PERSON, "diary", mood(2), recorded_at=APRIL)
    may = store.append_entry(PERSON, "diary", mood(3), recorded_at=MAY)
    # The filter is by month: an entry earlier in April is still included.
    since = datetime(2024, 4, 30, tzinfo=UTC)
    assert [e["id"] for e in store.list_entries(PERSON, "diary", recorded_since=since)] == [
        april,
        may,
    ]
    assert (
        store.list_entries(PERSON, "diary", recorded_since=datetime(2030, 1, 1, tzinfo=UTC)) == []
    )


def test_streams_and_people_are_kept_apart(store: Store) -> None:
    diary = store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    symptom = store.append_entry(PERSON, "symptom", {"kind": "pain", "level": 6}, MARCH)
    other = store.append_entry("records/ffffffffffff", "diary", mood(), recorded_at=MARCH)
    assert [e["id"] for e in store.list_entries(PERSON, "diary")] == [diary]
    assert [e["id"] for e in store.list_entries(PERSON, "symptom")] == [symptom]
    assert store.get_entry(PERSON, "diary", symptom) is None
    assert store.get_entry(PERSON, "diary", other) is None


def test_buckets_ignore_other_streams_temp_files_locks_and_odd_names(store: Store) -> None:
    store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    store.append_entry(PERSON, "diary_extra", mood(), recorded_at=APRIL)
    folder = store.root / PERSON
    (folder / ".tmp-diary-2024-05.json").write_text("{}")
    (folder / "diary-2024-06.json.lock").write_text("")
    (folder / "diary-notes.json").write_text("{}")
    (folder / "diary-2024-7.json").write_text("{}")
    assert store.buckets(PERSON, "diary") == ["2024-03"]
    assert store.buckets(PERSON, "diary_extra") == ["2024-04"]


def test_buckets_of_an_unknown_scope_or_stream_are_empty(store: Store) -> None:
    assert store.buckets(PERSON, "diary") == []
    assert store.list_entries(PERSON, "diary") == []
    store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    assert store.buckets(PERSON, "symptom") == []
    assert store.buckets("../data", "diary") == []


# --- names that could escape the data folder -----------------------------------------

BAD_SCOPES = [
    "../x",
    "../../etc/passwd",
    "records/../../x",
    "records/..",
    "..",
    ".",
    "./x",
    "/etc/passwd",
    "",
    "records/",
    "/records",
    "records//p1",
    "Records",
    "records\\p1",
    ".hidden",
    "records/.p1",
    "a b",
    "a/b/c/d",
    "x" * 65,
    "records/p1\x00",
    "-dash-first",
]


@pytest.mark.parametrize("scope", BAD_SCOPES)
def test_a_bad_scope_is_refused_before_any_file_is_touched(
    store: Store, tmp_path: Path, scope: str
) -> None:
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(ValueError):
        store.read(scope)
    with pytest.raises(ValueError), store.transaction(scope) as tx:
        tx.insert("t", {"id": "x"})
    with pytest.raises(ValueError):
        store.append_entry(scope, "diary", mood(), recorded_at=MARCH)
    with pytest.raises(ValueError):
        store.delete_scope_folder(scope)
    assert store.buckets(scope, "diary") == []
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("stream", ["Diary", "mood-log", "../x", "1diary", "", "a/b", "x" * 33])
def test_a_bad_stream_name_is_refused(store: Store, tmp_path: Path, stream: str) -> None:
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(ValueError):
        store.append_entry(PERSON, stream, mood(), recorded_at=MARCH)
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.read("records\n"),
        lambda s: s.append_entry(PERSON, "diary\n", mood(), recorded_at=MARCH),
        lambda s: s.append_entry(PERSON, "diary", mood(), recorded_at=MARCH, client_key="abcdef\n"),
    ],
    ids=["scope", "stream", "client_key"],
)
def test_a_name_with_a_trailing_newline_is_refused(store: Store, call) -> None:
    with pytest.raises(ValueError):
        call(store)


# --- unreadable and newer files ---------------------------------------------------------

UNREADABLE = {
    "truncated": b'{"_meta": {"1": {"schema_version": 1}}, "entries": {"1": {"id": "2024',
    "empty": b"",
    "nul-padded": b"\x00" * 4096,
    "not-an-object": b"[1, 2, 3]",
    "trailing-garbage": b'{"_meta": {"1": {"schema_version": 1}}}{"_meta": {}}',
}


@pytest.mark.parametrize("content", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_document_is_reported_by_name_and_never_overwritten(
    store: Store, content: bytes
) -> None:
    path = store.root / "records" / "p1" / "plan.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)

    with pytest.raises(UnreadableFile) as read_error:
        store.read("records/p1/plan")
    assert read_error.value.path == path
    assert str(path) in str(read_error.value)

    with pytest.raises(UnreadableFile), store.transaction("records/p1/plan") as tx:
        tx.insert("goals", {"id": "g1", "text": "would replace the damaged file"})

    assert path.read_bytes() == content
    assert temp_files(store.root) == []
    problems = store.check_all()
    assert len(problems) == 1
    assert str(path) in problems[0]


@pytest.mark.parametrize("content", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_corrupt_log_bucket_is_reported_by_name_and_never_overwritten(
    store: Store, content: bytes
) -> None:
    good = store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    entry_id = store.append_entry(PERSON, "diary", mood(), recorded_at=APRIL)
    path = store.root / PERSON / "diary-2024-04.json"
    path.write_bytes(content)

    with pytest.raises(UnreadableFile, match=str(path)):
        store.append_entry(PERSON, "diary", mood(), recorded_at=APRIL)
    with pytest.raises(UnreadableFile, match=str(path)):
        store.append_entry(PERSON, "diary", mood(), recorded_at=APRIL, client_key="retry1")
    with pytest.raises(UnreadableFile, match=str(path)):
        store.update_entry(PERSON, "diary", entry_id, {"score": 1})
    with pytest.raises(UnreadableFile, match=str(path)):
        store.delete_entry(PERSON, "diary", entry_id)
    with pytest.raises(UnreadableFile, match=str(path)):
        store.get_entry(PERSON, "diary", entry_id)
    with pytest.raises(UnreadableFile, match=str(path)):
        store.list_entries(PERSON, "diary")

    assert path.read_bytes() == content
    # Other months are unaffected.
    assert store.get_entry(PERSON, "diary", good) is not None
    assert store.list_entries(PERSON, "diary", recorded_since=MAY) == []
    store.append_entry(PERSON, "diary", mood(), recorded_at=MAY)
    problems = store.check_all()
    assert len(problems) == 1
    assert str(path) in problems[0]


def test_check_all_names_every_unreadable_file_and_nothing_else(store: Store) -> None:
    store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    store.append_entry(PERSON, "diary", mood(), recorded_at=APRIL)
    with store.transaction("system/accounts") as tx:
        tx.insert("accounts", {"id": "a1"})
    assert store.check_all() == []

    broken = [store.root / PERSON / "diary-2024-04.json", store.root / "system" / "accounts.json"]
    for path in broken:
        path.write_bytes(path.read_bytes()[:-3])
    (store.root / ".tmp-leftover.json").write_bytes(b"{half")  # temp files are not data

    problems = store.check_all()
    assert len(problems) == 2
    for path in broken:
        assert sum(str(path) in p for p in problems) == 1


@pytest.mark.parametrize(
    "content",
    [
        b'{"_meta": [1]}',
        b'{"_meta": {"1": 5}}',
        b'{"_meta": {"1": {"schema_version": 1}}, "goals": []}',
    ],
    ids=["meta-list", "meta-row-int", "table-list"],
)
def test_a_file_with_the_wrong_shape_is_reported_as_unreadable(
    store: Store, content: bytes
) -> None:
    path = store.root / "records" / "p1" / "plan.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(UnreadableFile):
        store.read("records/p1/plan").all("goals")
    problems = store.check_all()
    assert len(problems) == 1
    assert str(path) in problems[0]


def test_a_file_from_a_newer_schema_is_refused_and_left_alone(store: Store) -> None:
    entry_id = store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    bucket = store.root / PERSON / "diary-2024-03.json"
    data = json.loads(bucket.read_bytes())
    data["_meta"]["1"]["schema_version"] = SCHEMA_VERSION + 1
    bucket.write_bytes(json.dumps(data).encode())
    doc = store.root / "records" / "p1" / "plan.json"
    doc.parent.mkdir(parents=True)
    doc.write_bytes(json.dumps({"_meta": {"1": {"schema_version": SCHEMA_VERSION + 1}}}).encode())
    before = {bucket: bucket.read_bytes(), doc: doc.read_bytes()}

    with pytest.raises(NewerSchema, match="schema version"):
        store.read("records/p1/plan")
    with pytest.raises(NewerSchema), store.transaction("records/p1/plan") as tx:
        tx.insert("goals", {"id": "g1"})
    with pytest.raises(NewerSchema):
        store.get_entry(PERSON, "diary", entry_id)
    with pytest.raises(NewerSchema):
        store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    with pytest.raises(NewerSchema):
        store.update_entry(PERSON, "diary", entry_id, {"score": 1})
    with pytest.raises(NewerSchema):
        store.delete_entry(PERSON, "diary", entry_id)

    assert {p: p.read_bytes() for p in before} == before
    problems = store.check_all()
    assert len(problems) == 2
    assert any(str(bucket) in p for p in problems)
    assert any(str(doc) in p for p in problems)


def test_a_file_from_an_older_schema_or_without_one_is_still_read(store: Store) -> None:
    doc = store.root / "records" / "p1" / "plan.json"
    doc.parent.mkdir(parents=True)
    doc.write_bytes(b'{"goals": {"1": {"id": "g1", "text": "from before versions"}}}')
    assert store.read("records/p1/plan").get("goals", "g1")["text"] == "from before versions"
    assert store.check_all() == []


# --- the per-process parse cache -------------------------------------------------------


def test_a_read_sees_entries_appended_by_another_process(store: Store, tmp_path: Path) -> None:
    mine = store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    assert [e["id"] for e in store.list_entries(PERSON, "diary")] == [mine]  # warm the cache

    run_in_another_process(
        store.root,
        tmp_path,
        f"""
        at = datetime(2024, 3, 20, tzinfo=UTC)
        store.append_entry({PERSON!r}, "diary", {{"note": "from the other worker"}}, at,
                           client_key="other1other1")
        """,
    )

    listed = store.list_entries(PERSON, "diary")
    assert [e["id"] for e in listed] == [mine, "202403-other1other1"]
    assert (
        store.get_entry(PERSON, "diary", "202403-other1other1")["note"] == "from the other worker"
    )


def test_a_read_sees_a_same_size_rewrite_by_another_process(store: Store, tmp_path: Path) -> None:
    entry_id = store.append_entry(PERSON, "diary", mood(3), recorded_at=MARCH)
    with store.transaction("records/p1/plan") as tx:
        tx.insert("goals", {"id": "g1", "status": "open"})
    bucket = store.root / PERSON / "diary-2024-03.json"
    doc = store.root / "records" / "p1" / "plan.json"
    sizes = (bucket.stat().st_size, doc.stat().st_size)
    assert store.get_entry(PERSON, "diary", entry_id)["score"] == 3  # cached
    assert store.read("records/p1/plan").get("goals", "g1")["status"] == "open"  # cached

    run_in_another_process(
        store.root,
        tmp_path,
        f"""
        store.update_entry({PERSON!r}, "diary", {entry_id!r}, {{"score": 4}})
        with store.transaction("records/p1/plan") as tx:
            tx.update("goals", "g1", {{"status": "shut"}})
        """,
    )

    assert (bucket.stat().st_size, doc.stat().st_size) == sizes  # same size on purpose
    assert store.get_entry(PERSON, "diary", entry_id)["score"] == 4
    assert store.read("records/p1/plan").get("goals", "g1")["status"] == "shut"


def test_a_read_sees_a_file_deleted_and_recreated_by_another_process(
    store: Store, tmp_path: Path
) -> None:
    with store.transaction("records/p1/plan") as tx:
        tx.insert("goals", {"id": "g1", "status": "open"})
    assert store.read("records/p1/plan").exists  # cached

    run_in_another_process(
        store.root,
        tmp_path,
        """
        store.delete_scope_folder("records/p1")
        assert not store.read("records/p1/plan").exists
        with store.transaction("records/p1/plan") as tx:
            tx.insert("goals", {"id": "g1", "status": "anew"})
        """,
    )

    assert store.read("records/p1/plan").get("goals", "g1")["status"] == "anew"


def test_a_view_taken_before_a_write_keeps_its_snapshot(store: Store) -> None:
    with store.transaction("records/p1/plan") as tx:
        tx.insert("goals", {"id": "g1", "status": "open"})
    old = store.read("records/p1/plan")
    old_listing = store.list_entries(PERSON, "diary")
    with store.transaction("records/p1/plan") as tx:
        tx.update("goals", "g1", {"status": "done"})
        tx.insert("goals", {"id": "g2", "status": "open"})
    store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    assert old.get("goals", "g1")["status"] == "open"
    assert len(old.all("goals")) == 1
    assert old_listing == []
    assert store.read("records/p1/plan").get("goals", "g1")["status"] == "done"


def test_repeated_reads_of_an_unchanged_file_come_from_the_cache(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    store.list_entries(PERSON, "diary")
    parses = []
    real_parse = store_module._parse
    monkeypatch.setattr(
        store_module, "_parse", lambda path, raw: parses.append(path) or real_parse(path, raw)
    )
    for _ in range(3):
        assert len(store.list_entries(PERSON, "diary")) == 1
    assert parses == []
    clear_cache()
    store.list_entries(PERSON, "diary")
    assert len(parses) == 1


# --- lifecycle: init, healthy, deleting a person's folder -------------------------------


def test_init_creates_a_private_data_folder(tmp_path: Path) -> None:
    s = Store(tmp_path / "new" / "data")
    assert s.init() == 0
    assert s.root.is_dir()
    assert s.root.stat().st_mode & 0o077 == 0


def test_init_removes_old_temp_files_but_keeps_young_ones_and_data(store: Store) -> None:
    store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    with store.transaction("system/accounts") as tx:
        tx.insert("accounts", {"id": "a1"})
    old = [
        store.root / ".tmp-abc123.json",
        store.root / PERSON / ".tmp-def456.json",
        store.root / "system" / ".tmp-healthz-99-abcd",
    ]
    young = store.root / PERSON / ".tmp-inflight.json"
    long_ago = time.time() - store_module.TEMP_MAX_AGE_SECONDS - 30
    for path in old:
        path.write_bytes(b'{"half')
        os.utime(path, (long_ago, long_ago))
    young.write_bytes(b'{"half')
    data_files = list(store.files())

    assert store.init() == len(old)
    assert temp_files(store.root) == [young]
    assert list(store.files()) == data_files
    assert store.check_all() == []


def test_a_writable_data_folder_is_healthy_and_the_probe_leaves_nothing(store: Store) -> None:
    assert store.healthy() is True
    assert temp_files(store.root) == []


def test_a_data_folder_that_cannot_be_created_is_not_healthy(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    assert Store(blocker).healthy() is False
    assert Store(blocker / "data").healthy() is False


def test_deleting_a_scope_folder_removes_every_file_in_it_and_nothing_else(store: Store) -> None:
    store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    store.append_entry(PERSON, "symptom", {"kind": "pain"}, recorded_at=APRIL)
    with store.transaction(f"{PERSON}/plan") as tx:
        tx.insert("goals", {"id": "g1"})
    other = store.append_entry("records/ffffffffffff", "diary", mood(), recorded_at=MARCH)
    with store.transaction("system/accounts") as tx:
        tx.insert("accounts", {"id": "a1"})
    assert store.read(f"{PERSON}/plan").exists  # cached before the delete

    store.delete_scope_folder(PERSON)

    assert not (store.root / PERSON).exists()
    assert store.list_entries(PERSON, "diary") == []
    assert store.buckets(PERSON, "symptom") == []
    assert not store.read(f"{PERSON}/plan").exists
    assert store.get_entry("records/ffffffffffff", "diary", other) is not None
    assert store.read("system/accounts").get("accounts", "a1") is not None
    assert all(PERSON not in str(p) for p in store.files())


def test_deleting_a_scope_folder_that_does_not_exist_is_harmless(store: Store) -> None:
    store.delete_scope_folder("records/000000000000")
    assert store.check_all() == []


def test_deleting_a_folder_does_not_drop_a_sibling_with_a_longer_name(store: Store) -> None:
    store.append_entry("records/p1", "diary", mood(), recorded_at=MARCH)
    sibling = store.append_entry("records/p10", "diary", mood(), recorded_at=MARCH)
    store.delete_scope_folder("records/p1")
    assert store.get_entry("records/p10", "diary", sibling) is not None


def test_files_lists_data_files_but_not_temp_or_lock_files(store: Store) -> None:
    store.append_entry(PERSON, "diary", mood(), recorded_at=MARCH)
    with store.transaction("system/accounts") as tx:
        tx.insert("accounts", {"id": "a1"})
    (store.root / PERSON / ".tmp-x.json").write_text("{}")
    names = sorted(p.relative_to(store.root).as_posix() for p in store.files())
    assert names == [f"{PERSON}/diary-2024-03.json", "system/accounts.json"]
