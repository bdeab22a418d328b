"""Backups of the whole data folder while the app runs, and restoring one into an empty folder.

A backup is a folder holding a copy of every file in the data folder, read by
:meth:`Store.snapshot` (each data file under its lock), and ``MANIFEST.json``,
written last, listing each file's size and SHA-256. What "consistent" means:

* every file is a version of it that really existed, never a half-written one;
* every change acknowledged before the backup began is in it;
* files are not all from one instant: a change made while the backup runs may
  be in one file and not in another. Record folders are copied before the
  indexes in ``system/``, so an index may name a record whose data was copied
  before it had any, which reads as a record just started; and no record is
  deleted while a backup runs (its deletion waits), so a backup never holds part
  of a deleted record.

A backup without its manifest was interrupted; restore refuses it, and one whose
files do not match their sizes and hashes. Restore writes only into an empty
folder and checks that every data file parses before it says it worked.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import orjson

from . import clock
from .store import Store
from .store import _fsync_dir as fsync_dir

MANIFEST = "MANIFEST.json"
FORMAT = 1


class BackupError(Exception):
    """A backup cannot be taken or restored; ``problems`` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class BackupSummary:
    """What a backup or a restore copied."""

    folder: Path
    files: int
    size: int


def _write_file(path: Path, raw: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
        f.flush()
        os.fsync(f.fileno())


def _fsync_tree(root: Path) -> None:
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        fsync_dir(folder)


def _require_empty(folder: Path, what: str) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError([f"{folder} is not an empty folder; {what} only into an empty one."])


def take_backup(store: Store, dest: Path) -> BackupSummary:
    """Copy every file of the store into ``dest`` (new or empty), then write the manifest."""
    _require_empty(dest, "a backup is written")
    if dest.resolve().is_relative_to(store.root.resolve()):
        raise BackupError([f"{dest} is inside the data folder; write the backup somewhere else."])
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    started = clock.now().isoformat()
    files: dict[str, dict] = {}
    for rel, raw in store.snapshot():
        _write_file(dest / rel, raw)
        files[rel] = {"size": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    _fsync_tree(dest)
    manifest = {"format": FORMAT, "started_at": started, "files": files}
    tmp = dest / f".{MANIFEST}.tmp"
    _write_file(tmp, orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    os.replace(tmp, dest / MANIFEST)
    _fsync_tree(dest)
    return BackupSummary(dest, len(files), sum(f["size"] for f in files.values()))


def _safe(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return bool(parts) and not rel.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def read_manifest(snapshot: Path) -> dict[str, dict]:
    """The files a backup should hold, by path; raises :class:`BackupError` if unusable."""
    try:
        manifest = orjson.loads((snapshot / MANIFEST).read_bytes())
    except FileNotFoundError:
        raise BackupError(
            [f"{snapshot} has no {MANIFEST}: the backup did not finish. Use another one."]
        ) from None
    except orjson.JSONDecodeError:
        raise BackupError([f"{snapshot / MANIFEST} cannot be read."]) from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if manifest.get("format") != FORMAT or not isinstance(files, dict):
        raise BackupError([f"{snapshot / MANIFEST} is not a backup manifest this tracker reads."])
    bad = sorted(rel for rel in files if not _safe(rel))
    if bad:
        raise BackupError([f"The manifest names a file outside the backup: {rel}" for rel in bad])
    return files


def check_backup(snapshot: Path) -> list[str]:
    """Every way the backup differs from its manifest; empty if it is whole."""
    return _differences(snapshot, read_manifest(snapshot))


def _differences(snapshot: Path, files: dict[str, dict]) -> list[str]:
    problems = []
    for rel, want in sorted(files.items()):
        try:
            raw = (snapshot / rel).read_bytes()
        except FileNotFoundError:
            problems.append(f"{rel} is missing from the backup.")
            continue
        if len(raw) != want.get("size") or hashlib.sha256(raw).hexdigest() != want.get("sha256"):
            problems.append(f"{rel} has changed since the backup was taken.")
    present = {
        p.relative_to(snapshot).as_posix()
        for p in snapshot.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }
    problems += [
        f"{rel} is in the backup folder but not in its manifest."
        for rel in sorted(present - set(files))
    ]
    return problems


def restore_backup(snapshot: Path, data_dir: Path) -> BackupSummary:
    """Copy a whole, checked backup into an empty ``data_dir`` and check every file parses."""
    files = read_manifest(snapshot)
    problems = _differences(snapshot, files)
    if problems:
        raise BackupError(problems)
    _require_empty(data_dir, "a backup is restored")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        for rel in sorted(files):
            _write_file(data_dir / rel, (snapshot / rel).read_bytes())
        _fsync_tree(data_dir)
        problems = Store(data_dir).check_all()
        if problems:
            raise BackupError(problems)
    except BaseException:
        # Leave the folder empty again rather than half restored.
        for child in list(data_dir.iterdir()):
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    child.unlink()
        raise
    return BackupSummary(data_dir, len(files), sum(f["size"] for f in files.values()))
