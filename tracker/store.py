"""The storage layer: the only module that imports TinyDB.

Why it looks like this (measured on these machines, see ``../shared/DESIGN.md``):

* TinyDB is not safe across processes or threads. Every change here is a
  read-modify-write held under an exclusive ``flock`` on a lock file beside the
  data file (``fcntl.lockf`` does not serialise threads; ``flock`` on a fresh
  descriptor does).
* A fresh TinyDB object is made for each transaction and thrown away after it,
  because a long-lived one caches its next id and its query results.
* Every write goes to a temporary file that is fsynced, ``os.replace``-d over the
  old file, and then the folder is fsynced. A ``kill -9`` at any point leaves
  either the old or the new version, never a torn file. No ``CachingMiddleware``.
* Parsed files are cached per process, keyed by (inode, size, mtime_ns). Each
  write sets the new file's mtime strictly above the old one, so the key can never
  repeat for a different version, even when the kernel reuses an inode number.
* A person's logs are split into files per month ("buckets"), chosen by the
  month the entry was *recorded*, which never changes, and each month into parts
  of at most ``BUCKET_CAP`` entries. Entry ids carry their bucket and part, so
  one entry is found without an index, and a write never re-serialises more
  than one small part, however long or busy the history.
* A file that cannot be parsed raises :class:`UnreadableFile` naming it. It is
  never overwritten with an empty database.
* Deleting a folder takes each file's lock before removing it, so a write in
  progress finishes first and one waiting for the lock is refused
  (:class:`ScopeDeleted`: it finds its lock file gone) instead of writing the
  file again. A folder deleted ``forever`` (a person's record) is also listed,
  by a one-way hash of its path, in ``system/deleted-folders``: every later
  write under it is refused, checked under the file's lock, so nothing a late
  writer does can bring the record back.
* :meth:`Store.snapshot` reads every file under its lock for backups, and
  holds the deleted-folders lock meanwhile, so no record is deleted halfway
  through a backup.

The public interface is small and backend-neutral (plain dicts in and out), so a
PostgreSQL backend can be added later without touching the domain modules:
:meth:`Store.read`, :meth:`Store.transaction`, :meth:`Store.append_entry`,
:meth:`Store.get_entry`, :meth:`Store.update_entry`, :meth:`Store.delete_entry`,
:meth:`Store.list_entries`, :meth:`Store.delete_scope_folder`, :meth:`Store.snapshot`,
:meth:`Store.write_file`, :meth:`Store.remove_file`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from tinydb import Query, TinyDB
from tinydb.storages import Storage

SCHEMA_VERSION = 1
META_TABLE = "_meta"
ENTRIES_TABLE = "entries"
TEMP_PREFIX = ".tmp-"
# Temporary files younger than this may belong to a write in progress in another
# worker; only older ones are leftovers from a crash.
TEMP_MAX_AGE_SECONDS = 60

_SCOPE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}(/[a-z0-9][a-z0-9_-]{0,63}){0,2}$")
_STREAM_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_ENTRY_ID_RE = re.compile(r"^(\d{4})(\d{2})(?:p(\d{1,4}))?-([a-z0-9]{6,40})$")
_BUCKET_RE = re.compile(r"^(\d{4}-\d{2})(?:\.(\d{1,4}))?$")
# A month's log is split into parts of at most this many entries, so the file one
# write rewrites stays small however busy the month (20 entries a day is ~600).
BUCKET_CAP = 100
_CLIENT_KEY_RE = re.compile(r"^[a-z0-9]{6,40}$")
_FILE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\.[a-z0-9]{1,8}$")
# Folders deleted for good, by a hash of their scope, so no late write recreates them.
RETIRED_SCOPE = "system/deleted-folders"
RETIRED_TABLE = "folders"

Doc = dict[str, Any]


class StoreError(Exception):
    """Base class for storage failures."""


class UnreadableFile(StoreError):
    """A data file exists but cannot be parsed; it is left untouched for repair."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"Data file {path} cannot be read ({reason}); it has been left as it is.")
        self.path = path


class NewerSchema(StoreError):
    """A data file was written by a newer version of the tracker."""


class ScopeDeleted(StoreError):
    """A write was refused because its folder has been deleted (a late writer)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} is in a deleted folder; the write was refused.")
        self.path = path


def new_id(nbytes: int = 6) -> str:
    """A short random id made of lowercase hex, safe in paths and URLs."""
    return secrets.token_hex(nbytes)


# --- per-process parse cache ---------------------------------------------------

_CACHE_MAX_FILES = 2048
_cache: OrderedDict[str, tuple[tuple[int, int, int], dict]] = OrderedDict()
_cache_lock = threading.Lock()
# The parsed deleted-folders file and the set of its keys, made once per version.
_retired_memo: list[Any] = []


def _cache_get(path: str, key: tuple[int, int, int]) -> dict | None:
    with _cache_lock:
        hit = _cache.get(path)
        if hit is not None and hit[0] == key:
            _cache.move_to_end(path)
            return hit[1]
    return None


def _cache_put(path: str, key: tuple[int, int, int], data: dict) -> None:
    with _cache_lock:
        _cache[path] = (key, data)
        _cache.move_to_end(path)
        while len(_cache) > _CACHE_MAX_FILES:
            _cache.popitem(last=False)


def _cache_drop(path: str) -> None:
    with _cache_lock:
        _cache.pop(path, None)


def clear_cache() -> None:
    """Forget every parsed file (tests and benchmarks use this)."""
    with _cache_lock:
        _cache.clear()


def _stat_key(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


# --- raw file access -------------------------------------------------------------


def _parse(path: Path, raw: bytes) -> dict:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UnreadableFile(path, f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UnreadableFile(path, "top level is not an object")
    for name, table in data.items():
        if not isinstance(table, dict) or not all(isinstance(d, dict) for d in table.values()):
            raise UnreadableFile(path, f"table {name!r} is not a map of documents")
    meta = data.get(META_TABLE, {}).get("1", {})
    version = meta.get("schema_version", 0)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise NewerSchema(
            f"{path} has schema version {version!r}; this tracker reads up to {SCHEMA_VERSION}."
        )
    return data


def _load(path: Path, use_cache: bool = True) -> dict | None:
    """Parse ``path``; ``None`` if it does not exist. Cached by file identity."""
    if use_cache:
        # A stat is cheaper than an open: a file whose identity is cached is not opened.
        try:
            hit = _cache_get(str(path), _stat_key(os.stat(path)))
        except FileNotFoundError:
            return None
        if hit is not None:
            return hit
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        # fstat the open descriptor, so the key describes exactly the bytes read.
        key = _stat_key(os.fstat(fd))
        if use_cache:
            hit = _cache_get(str(path), key)
            if hit is not None:
                return hit
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read()
    finally:
        os.close(fd)
    if not raw:
        raise UnreadableFile(path, "file is empty")
    data = _parse(path, raw)
    if use_cache:
        _cache_put(str(path), key, data)
    return data


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: dict) -> None:
    """Write a data file (see :func:`_replace_bytes`) and cache what it now holds."""
    _replace_bytes(path, orjson.dumps(data))
    _cache_put(str(path), _stat_key(os.stat(path)), data)


def _replace_bytes(path: Path, payload: bytes) -> None:
    """Temp file → fsync → os.replace → fsync folder (and any made). Caller holds the lock."""
    folder = path.parent
    made = list(itertools.takewhile(lambda p: not p.exists(), (folder, *folder.parents)))
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for new_folder in reversed(made):
        _fsync_dir(new_folder.parent)
    try:
        prev_mtime = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        prev_mtime = 0
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            stamp = max(time.time_ns(), prev_mtime + 1)
            os.utime(f.fileno(), ns=(stamp, stamp))
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


@contextmanager
def _locked(path: Path, guard: Callable[[], None] | None = None) -> Iterator[None]:
    """Exclusive inter-process and inter-thread lock for one data file.

    Refuses (:class:`ScopeDeleted`) if the file's folder was deleted while this
    waited for the lock (the lock file it holds is no longer linked), or if
    ``guard`` raises once the lock is held.
    """
    if guard is not None:
        guard()  # refuse early, before making any folder
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock_path = f"{path}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink == 0:
            raise ScopeDeleted(path)
        if guard is not None:
            try:
                guard()
            except ScopeDeleted:
                _abandon(lock_path, fd)
                raise
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _abandon(lock_path: str, fd: int) -> None:
    """Remove the lock file (and any empty folders) a refused writer made."""
    with contextlib.suppress(FileNotFoundError):
        if os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
            os.unlink(lock_path)
    folder = Path(lock_path).parent
    with contextlib.suppress(OSError):
        while True:
            folder.rmdir()  # only ever an empty folder; stops at the first that is not
            folder = folder.parent


def _read_locked(path: Path) -> bytes | None:
    """The bytes of one file read under a shared lock; ``None`` if it is gone.

    A file that is not a data file and has never had a lock (it was put in place
    whole, by rename) is read as it is.
    """
    try:
        flags = os.O_RDWR | (os.O_CREAT if path.suffix == ".json" else 0)
        fd = os.open(f"{path}.lock", flags, 0o600)
    except FileNotFoundError:
        if path.suffix == ".json":
            return None  # its folder was deleted meanwhile
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        if os.fstat(fd).st_nlink == 0:
            return None
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
    finally:
        os.close(fd)


def _remove_locked(path: Path) -> None:
    """Remove a data file and its lock file while holding that lock."""
    try:
        fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}.lock")
    finally:
        os.close(fd)
    _cache_drop(str(path))


def _folder_key(folder_scope: str) -> str:
    return hashlib.sha256(folder_scope.encode()).hexdigest()[:32]


# --- TinyDB inside a transaction ---------------------------------------------------


class _TxStorage(Storage):
    """Hands TinyDB the dict read under the lock; the transaction writes it once."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.dirty = False

    def read(self) -> dict:
        return self.data

    def write(self, data: dict) -> None:
        self.data = data
        self.dirty = True


_Q = Query()


class Transaction:
    """Table operations on one file, applied atomically when the block ends.

    Documents are plain dicts with a string ``id``. Do not keep a transaction or
    the dicts it returns after the ``with`` block.
    """

    def __init__(self, data: dict) -> None:
        self._db = TinyDB(data, storage=_TxStorage)
        self._storage: _TxStorage = self._db.storage  # type: ignore[assignment]

    @property
    def dirty(self) -> bool:
        return self._storage.dirty

    @property
    def data(self) -> dict:
        return self._storage.data

    def all(self, table: str) -> list[Doc]:
        return [dict(d) for d in self._db.table(table).all()]

    def get(self, table: str, doc_id: str) -> Doc | None:
        doc = self._db.table(table).get(_Q.id == doc_id)
        return dict(doc) if doc is not None else None

    def find(self, table: str, **fields: Any) -> list[Doc]:
        return [dict(d) for d in self._db.table(table).search(_Q.fragment(fields))]

    def insert(self, table: str, doc: Doc, *, checked: bool = False) -> str:
        """Insert a document; ``checked`` means the caller already knows its id is new."""
        doc = dict(doc)
        doc.setdefault("id", new_id())
        if not checked and self._db.table(table).contains(_Q.id == doc["id"]):
            raise StoreError(f"duplicate id {doc['id']!r} in table {table!r}")
        self._db.table(table).insert(doc)
        return doc["id"]

    # TinyDB writes the table even when nothing matched; checking first keeps a
    # no-op from rewriting and fsyncing the file.
    def update(self, table: str, doc_id: str, changes: Doc) -> bool:
        changes = {k: v for k, v in changes.items() if k != "id"}
        t = self._db.table(table)
        return t.contains(_Q.id == doc_id) and bool(t.update(changes, _Q.id == doc_id))

    def replace(self, table: str, doc: Doc) -> None:
        """Replace the whole document with ``doc['id']`` (insert if absent)."""
        t = self._db.table(table)
        t.remove(_Q.id == doc["id"])
        t.insert(dict(doc))

    def remove(self, table: str, doc_id: str) -> bool:
        t = self._db.table(table)
        return t.contains(_Q.id == doc_id) and bool(t.remove(_Q.id == doc_id))

    def remove_where(self, table: str, predicate: Callable[[Doc], bool]) -> int:
        t = self._db.table(table)
        if not any(predicate(dict(d)) for d in t.all()):
            return 0
        return len(t.remove(lambda d: predicate(dict(d))))


class View:
    """A read-only snapshot of one file's tables (shared per process: do not mutate)."""

    def __init__(self, data: dict | None) -> None:
        self._data = data or {}

    def all(self, table: str) -> list[Doc]:
        return list(self._data.get(table, {}).values())

    def get(self, table: str, doc_id: str) -> Doc | None:
        for doc in self._data.get(table, {}).values():
            if doc.get("id") == doc_id:
                return doc
        return None

    def find(self, table: str, **fields: Any) -> list[Doc]:
        return [
            d
            for d in self._data.get(table, {}).values()
            if all(d.get(k) == v for k, v in fields.items())
        ]

    @property
    def exists(self) -> bool:
        return bool(self._data)


# --- entries split by month ------------------------------------------------------


def _bucket_name(month: str, part: int) -> str:
    """ "2024-03" for a month's first part, "2024-03.2" for its third."""
    return month if part == 0 else f"{month}.{part}"


def _bucket_key(bucket: str) -> tuple[str, int]:
    m = _BUCKET_RE.fullmatch(bucket)
    assert m is not None
    return m.group(1), int(m.group(2) or 0)


def _entry_id(month: str, part: int, suffix: str) -> str:
    """ "202403-<suffix>", or "202403p2-<suffix>" for the month's third part."""
    compact = month.replace("-", "")
    return f"{compact}-{suffix}" if part == 0 else f"{compact}p{part}-{suffix}"


def _bucket_of(entry_id: str) -> str:
    m = _ENTRY_ID_RE.fullmatch(entry_id)
    if not m:
        raise KeyError(entry_id)
    return _bucket_name(f"{m.group(1)}-{m.group(2)}", int(m.group(3) or 0))


def _previous_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
    return f"{year:04d}-{mon:02d}"


def _utc(dt: datetime | None) -> datetime:
    if dt is None:
        return datetime.now(UTC)
    if dt.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return dt.astimezone(UTC)


# --- the store -------------------------------------------------------------------


class Store:
    """Files under ``root``: ``<scope>.json`` documents and ``<scope>/<stream>-YYYY-MM.json`` logs.

    A *scope* is a slash-separated path of short lowercase ids, such as
    ``"system/accounts"`` or ``"records/ab12cd34ef56/record"``.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # -- paths
    def _path(self, scope: str) -> Path:
        if not _SCOPE_RE.fullmatch(scope):
            raise ValueError(f"bad scope {scope!r}")
        return self.root / f"{scope}.json"

    def _bucket_path(self, scope: str, stream: str, bucket: str) -> Path:
        if not _SCOPE_RE.fullmatch(scope) or not _STREAM_RE.fullmatch(stream):
            raise ValueError(f"bad scope or stream {scope!r} {stream!r}")
        return self.root / scope / f"{stream}-{bucket}.json"

    # -- folders deleted for good
    def _retired_keys(self) -> frozenset[str]:
        data = _load(self._path(RETIRED_SCOPE))
        if not data:
            return frozenset()
        with _cache_lock:
            if _retired_memo and _retired_memo[0] is data:
                return _retired_memo[1]
        keys = frozenset(d["id"] for d in data.get(RETIRED_TABLE, {}).values())
        with _cache_lock:
            _retired_memo[:] = [data, keys]
        return keys

    def _is_retired(self, path: Path, keys: frozenset[str]) -> bool:
        folders = path.relative_to(self.root).parts[:-1]
        return any(_folder_key("/".join(folders[: i + 1])) in keys for i in range(len(folders)))

    def _guard(self, path: Path) -> Callable[[], None]:
        """A check that refuses a write under a folder deleted for good."""

        def check() -> None:
            keys = self._retired_keys()
            if keys and self._is_retired(path, keys):
                raise ScopeDeleted(path)

        return check

    # -- lifecycle
    def init(self) -> int:
        """Create the folder and remove leftover temporary files; returns how many."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        removed = 0
        cutoff = time.time() - TEMP_MAX_AGE_SECONDS
        for tmp in self.root.rglob(f"{TEMP_PREFIX}*"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def healthy(self) -> bool:
        """True if the data folder can be read and written."""
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            probe = self.root / f"{TEMP_PREFIX}healthz-{os.getpid()}-{new_id(4)}"
            probe.write_bytes(b"ok")
            ok = probe.read_bytes() == b"ok"
            probe.unlink()
            return ok and os.access(self.root, os.R_OK | os.W_OK | os.X_OK)
        except OSError:
            return False

    # -- documents
    def read(self, scope: str) -> View:
        """A cached, read-only view of a scope's tables."""
        return View(_load(self._path(scope)))

    @contextmanager
    def transaction(self, scope: str) -> Iterator[Transaction]:
        """Lock, read, let the caller change tables, then write atomically if changed."""
        path = self._path(scope)
        with _locked(path, self._guard(path)):
            data = _load(path, use_cache=False)
            if data is None:
                data = {META_TABLE: {"1": {"schema_version": SCHEMA_VERSION}}}
            tx = Transaction(data)
            yield tx
            if tx.dirty:
                _write_atomic(path, tx.data)

    # -- entries
    def append_entry(
        self,
        scope: str,
        stream: str,
        entry: Doc,
        recorded_at: datetime | None = None,
        client_key: str | None = None,
    ) -> str:
        """Add one entry to the newest part of the month of ``recorded_at`` (now by default).

        ``client_key`` makes the append idempotent: a replay with the same key, in
        the same month or the next, returns the existing id and writes nothing.
        """
        at = _utc(recorded_at)
        month = f"{at.year:04d}-{at.month:02d}"
        if client_key is not None:
            if not _CLIENT_KEY_RE.fullmatch(client_key):
                raise ValueError("bad client key")
            for earlier_month in (month, _previous_month(month)):
                for part in self._parts(scope, stream, earlier_month):
                    candidate = _entry_id(earlier_month, part, client_key)
                    if self.get_entry(scope, stream, candidate) is not None:
                        return candidate
        parts = self._parts(scope, stream, month)
        part = parts[-1] if parts else 0
        while True:
            path = self._bucket_path(scope, stream, _bucket_name(month, part))
            with _locked(path, self._guard(path)):
                data = _load(path, use_cache=False)
                if data is None:
                    data = {META_TABLE: {"1": {"schema_version": SCHEMA_VERSION}}}
                rows = data.get(ENTRIES_TABLE, {})
                if len(rows) >= BUCKET_CAP:
                    part += 1  # this part is full: the next one (made if need be)
                    continue
                entry_id = _entry_id(month, part, client_key or new_id())
                if any(row.get("id") == entry_id for row in rows.values()):
                    if client_key is not None:
                        return entry_id
                    raise StoreError("id collision")
                doc = dict(entry)
                doc["id"] = entry_id
                doc.setdefault("recorded_at", at.isoformat())
                tx = Transaction(data)
                tx.insert(ENTRIES_TABLE, doc, checked=True)
                _write_atomic(path, tx.data)
                return entry_id

    def _parts(self, scope: str, stream: str, month: str) -> list[int]:
        """The parts of a month's log that exist, in order (found by name, not by listing)."""
        parts: list[int] = []
        while self._bucket_path(scope, stream, _bucket_name(month, len(parts))).exists():
            parts.append(len(parts))
        return parts

    def get_entry(self, scope: str, stream: str, entry_id: str) -> Doc | None:
        try:
            bucket = _bucket_of(entry_id)
        except KeyError:
            return None
        return View(_load(self._bucket_path(scope, stream, bucket))).get(ENTRIES_TABLE, entry_id)

    def _change_entry(
        self, scope: str, stream: str, entry_id: str, change: Callable[[Transaction], bool]
    ) -> bool:
        """Apply ``change`` to the entry's month file under its lock; write if it changed."""
        try:
            bucket = _bucket_of(entry_id)
        except KeyError:
            return False
        path = self._bucket_path(scope, stream, bucket)
        if not path.exists():
            return False
        with _locked(path, self._guard(path)):
            tx = Transaction(_load(path, use_cache=False) or {})
            changed = change(tx)
            if changed:
                _write_atomic(path, tx.data)
            return changed

    def update_entry(self, scope: str, stream: str, entry_id: str, changes: Doc) -> bool:
        return self._change_entry(
            scope, stream, entry_id, lambda tx: tx.update(ENTRIES_TABLE, entry_id, changes)
        )

    def delete_entry(self, scope: str, stream: str, entry_id: str) -> bool:
        """Remove the entry; its text is gone from disk once the write lands."""
        return self._change_entry(
            scope, stream, entry_id, lambda tx: tx.remove(ENTRIES_TABLE, entry_id)
        )

    def buckets(self, scope: str, stream: str) -> list[str]:
        """Buckets that exist for a stream, oldest first: "YYYY-MM" and its parts "YYYY-MM.N"."""
        folder = self.root / scope
        if not _SCOPE_RE.fullmatch(scope) or not folder.is_dir():
            return []
        prefix = f"{stream}-"
        out = []
        for p in folder.iterdir():
            name = p.name
            if (
                name.startswith(prefix)
                and name.endswith(".json")
                and not name.startswith(TEMP_PREFIX)
            ):
                out.append(name[len(prefix) : -len(".json")])
        return sorted((b for b in out if _BUCKET_RE.fullmatch(b)), key=_bucket_key)

    def list_entries(
        self, scope: str, stream: str, recorded_since: datetime | None = None
    ) -> list[Doc]:
        """Entries from buckets recorded in or after ``recorded_since``'s month.

        The returned dicts are shared with the cache: read them, never change them.
        Order within the list is by bucket, then insertion.
        """
        first = None
        if recorded_since is not None:
            since = _utc(recorded_since)
            first = f"{since.year:04d}-{since.month:02d}"
        out: list[Doc] = []
        for bucket in self.buckets(scope, stream):
            if first is not None and _bucket_key(bucket)[0] < first:
                continue
            out.extend(View(_load(self._bucket_path(scope, stream, bucket))).all(ENTRIES_TABLE))
        return out

    # -- whole folders
    def delete_scope_folder(self, folder_scope: str, *, forever: bool = False) -> None:
        """Remove every file under a scope folder, each under its lock.

        A write already holding a file's lock finishes first and is then removed;
        one waiting for it is refused with :class:`ScopeDeleted`. With
        ``forever`` (a person's record is deleted) the folder is first listed as
        deleted, so every later write under it is refused too and nothing can
        recreate it; that list holds only a hash of the folder's path.
        """
        if not _SCOPE_RE.fullmatch(folder_scope):
            raise ValueError(folder_scope)
        folder = self.root / folder_scope
        if forever:
            key = _folder_key(folder_scope)
            with self.transaction(RETIRED_SCOPE) as tx:
                if tx.get(RETIRED_TABLE, key) is None:
                    tx.insert(RETIRED_TABLE, {"id": key}, checked=True)
        if folder.is_dir():
            files = [p for p in folder.rglob("*") if not p.is_dir()]
            names = {p.with_suffix("") if p.suffix == ".lock" else p for p in files}
            for path in sorted(names):
                if not path.name.startswith(TEMP_PREFIX):
                    _remove_locked(path)
            # What is left: empty folders, and temporary files of writes that crashed.
            shutil.rmtree(folder, ignore_errors=True)
            _fsync_dir(folder.parent)
        with _cache_lock:
            for key in [k for k in _cache if k.startswith(str(folder) + os.sep)]:
                _cache.pop(key, None)

    def files(self) -> Iterator[Path]:
        """Every data file (for fsck and backups)."""
        for p in sorted(self.root.rglob("*.json")):
            if not p.name.startswith(TEMP_PREFIX):
                yield p

    def snapshot(self) -> Iterator[tuple[str, bytes]]:
        """Every file as (path relative to the root, bytes), each data file read under its lock.

        Each file is a version that really existed (never a half-written one) and
        holds every write acknowledged before the snapshot began. Folders deleted
        for good are left out, and none is deleted while the snapshot runs (it
        holds the deleted-folders lock), so a backup never holds part of a
        deleted record. Files outside ``system/`` come first, so the indexes,
        read last, may name a record whose folder was copied before it had
        anything in it, but never miss one whose data was copied.
        """
        retired_path = self._path(RETIRED_SCOPE)
        with _locked(retired_path):
            keys = self._retired_keys()
            paths = [
                p
                for p in self.root.rglob("*")
                if not p.name.startswith(TEMP_PREFIX)
                and p.suffix != ".lock"
                and p.is_file()
                and not self._is_retired(p, keys)
            ]
            paths.sort(key=lambda p: (p.relative_to(self.root).parts[0] == "system", str(p)))
            for path in paths:
                # This process already holds the deleted-folders lock: read that file as is.
                raw = retired_path.read_bytes() if path == retired_path else _read_locked(path)
                if raw is not None:
                    yield path.relative_to(self.root).as_posix(), raw

    # -- other files (receipt photos): written like data files, never parsed
    def _file_path(self, folder_scope: str, name: str) -> Path:
        if (
            not _SCOPE_RE.fullmatch(folder_scope)
            or not _FILE_RE.fullmatch(name)
            or name.endswith((".json", ".lock"))
        ):
            raise ValueError(f"bad folder or file name {folder_scope!r} {name!r}")
        return self.root / folder_scope / name

    def write_file(self, folder_scope: str, name: str, payload: bytes) -> Path:
        """Put a file that is not a table (a receipt photo) in a scope folder.

        Written like the data files (atomically, under its lock), so a backup or a
        deletion never meets half of it, and refused with :class:`ScopeDeleted`
        if the folder has been deleted forever.
        """
        path = self._file_path(folder_scope, name)
        with _locked(path, self._guard(path)):
            _replace_bytes(path, payload)
        return path

    def remove_file(self, folder_scope: str, name: str) -> bool:
        """Remove a file put there by :meth:`write_file`; ``False`` if there was none."""
        path = self._file_path(folder_scope, name)
        if not path.exists():
            return False
        with _locked(path, self._guard(path)):
            try:
                os.unlink(path)
            except FileNotFoundError:
                return False
            _fsync_dir(path.parent)
            return True

    def check_all(self) -> list[str]:
        """Parse every data file; return one message per unreadable file."""
        problems = []
        for p in self.files():
            try:
                _load(p, use_cache=False)
            except StoreError as exc:
                problems.append(str(exc))
        return problems


__all__ = [
    "SCHEMA_VERSION",
    "NewerSchema",
    "ScopeDeleted",
    "Store",
    "StoreError",
    "Transaction",
    "UnreadableFile",
    "View",
    "clear_cache",
    "get_store",
    "new_id",
]


def get_store() -> Store:
    """The app's store (set up by ``create_app``)."""
    from flask import current_app

    return current_app.extensions["tracker.store"]
