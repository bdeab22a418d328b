"""The person's full export: everything the tracker holds about one record, and its re-import.

The document's shape is written down, versioned, in ``docs/export-schema.md``.

Why it looks like this:

* **Whole files, not a list of features.** The export walks the record's folder
  (``records/<id>/``) and takes every document file table by table, every
  month-by-month stream bucket by bucket, and every other file (receipt photos)
  as base64 with its SHA-256. Whatever another part of the tracker adds under the
  record's folder later is exported without a change here, and a test fails if
  any file is left out. Beside the folder it takes the record's entry in the
  index, its memberships (sharing), and the owner's notification preferences.
* **Accounts by reference.** Account ids differ between instances, so every value
  in the data that is an account id is written as a reference (``@person-1``, …,
  numbered in email order) and ``people`` gives each one's name and email. No
  password hash, session or push subscription is ever exported; nor is the
  calendar feed's secret (:data:`calendar_feed.SECRET_FIELDS`).
* **Exact round trip.** Import writes the same ids back, documents in the same
  order, and log entries through :meth:`Store.append_entry` with their own id
  suffix as the client key and into the same month part (a part that was not full
  is padded while the next part is written, and the padding removed). Exporting
  the imported record again gives the same document, byte for byte, apart from
  ``exported_at``.
* **Nothing written unless all of it is right.** Import checks the size, the JSON,
  the schema and version, every id and path, each receipt's checksum and image,
  and the tracker's own readers for goals, actions, trackers, log entries and
  spending, and returns every problem found. Only a clean document is written,
  and the record only appears in the index once all its files are in place.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from . import accounts, budget, calendar_feed, clock, goals, logs, notifications, receipts
from . import actions as actions_module
from . import records as records_module
from . import sharing as sharing_module
from . import trackers as trackers_module
from .roles import Category, Role
from .store import BUCKET_CAP, TEMP_PREFIX, StoreError, get_store

SCHEMA = "care-plan-tracker/export"
VERSION = 1
MEDIA_TYPE = "application/json"
# Largest document import reads: receipts are up to 5 MB each, base64 adds a third.
MAX_IMPORT_MB = 64
MAX_IMPORT_BYTES = MAX_IMPORT_MB * 1024 * 1024

_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_STREAM_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_TABLE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_ID_RE = re.compile(r"^[a-z0-9]{6,40}$")
# "@person-1": a whole field of exactly this is never typed, so no text is mistaken for one.
_REF_RE = re.compile(r"^@person-[1-9][0-9]{0,5}$")
_BUCKET_FILE_RE = re.compile(r"^([a-z][a-z0-9_]{0,31})-(\d{4}-\d{2}(?:\.\d{1,4})?)$")
_BUCKET_RE = re.compile(r"^(\d{4})-(\d{2})(?:\.(\d{1,4}))?$")
_ENTRY_ID_RE = re.compile(r"^(\d{4})(\d{2})(?:p(\d{1,4}))?-([a-z0-9]{6,40})$")
_FILE_RE = re.compile(r"^receipts/[0-9a-f]{12}\.(jpg|png)$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_PADDING_KIND = "_import_padding"

# The tracker's own readers: a document they cannot read is refused at import.
_DOC_READERS: dict[tuple[str, str], Callable[[dict], object]] = {
    ("record", goals.TABLE): goals.Goal.from_doc,
    ("record", actions_module.TABLE): actions_module.Action.from_doc,
    ("record", trackers_module.TABLE): trackers_module.Tracker.from_doc,
}
_ENTRY_READERS: dict[str, Callable[[dict], object]] = {
    logs.STREAM: logs.LogEntry.from_doc,
    budget.STREAM: budget.Spend.from_doc,
}


class ImportRefused(Exception):
    """The document cannot be imported; ``problems`` lists why, in plain English."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the record, who it linked, and who it could not."""

    record_id: str
    owner_email: str
    linked: list[str] = field(default_factory=list)
    not_linked: list[str] = field(default_factory=list)
    preferences_kept: bool = False


# --- export ------------------------------------------------------------------------------


def _folder(record_id: str) -> Path:
    return get_store().root / records_module.log_scope(record_id)


def _is_data_file(path: Path) -> bool:
    return path.is_file() and not path.name.endswith(".lock") and TEMP_PREFIX not in path.name


def _read_tables(scope: str) -> dict[str, list[dict]]:
    """Every non-empty table of one document file, documents in stored order."""
    # A transaction that changes nothing writes nothing; it is the store's way to list tables.
    with get_store().transaction(scope) as tx:
        data = tx.data
        return {
            name: [dict(doc) for doc in table.values()]
            for name, table in data.items()
            if not name.startswith("_") and table
        }


def _redact(name: str, tables: dict[str, list[dict]]) -> dict[str, list[dict]]:
    if name != calendar_feed.SCOPE_NAME:
        return tables
    return {
        table: [
            {k: v for k, v in doc.items() if k not in calendar_feed.SECRET_FIELDS} for doc in docs
        ]
        for table, docs in tables.items()
    }


def _bucket_of(entry_id: str) -> str:
    match = _ENTRY_ID_RE.fullmatch(entry_id)
    if match is None:
        return ""
    year, month, part, _ = match.groups()
    return f"{year}-{month}" if not part or part == "0" else f"{year}-{month}.{part}"


def _bucket_sort_key(bucket: str) -> tuple[str, int]:
    month, _, part = bucket.partition(".")
    return month, int(part or 0)


def _stream(record_id: str, stream: str) -> dict[str, list[dict]]:
    store = get_store()
    scope = records_module.log_scope(record_id)
    out: dict[str, list[dict]] = {bucket: [] for bucket in store.buckets(scope, stream)}
    for entry in store.list_entries(scope, stream):
        out.setdefault(_bucket_of(entry["id"]), []).append(dict(entry))
    return out


def _record_files(record_id: str) -> Iterator[tuple[str, Path]]:
    folder = _folder(record_id)
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if _is_data_file(path):
            yield path.relative_to(folder).as_posix(), path


def _collect(record_id: str) -> tuple[dict, dict, dict]:
    """Documents, streams and other files under the record's folder."""
    documents: dict[str, dict] = {}
    streams: dict[str, dict] = {}
    files: dict[str, dict] = {}
    for relative, path in _record_files(record_id):
        stem = relative.removesuffix(".json")
        bucket = _BUCKET_FILE_RE.fullmatch(stem)
        if "/" not in relative and relative.endswith(".json") and bucket:
            if bucket.group(1) not in streams:
                streams[bucket.group(1)] = _stream(record_id, bucket.group(1))
        elif "/" not in relative and relative.endswith(".json") and _NAME_RE.fullmatch(stem):
            tables = _read_tables(f"{records_module.log_scope(record_id)}/{stem}")
            if tables:
                documents[stem] = _redact(stem, tables)
        else:
            payload = path.read_bytes()
            files[relative] = {
                "sha256": hashlib.sha256(payload).hexdigest(),
                "base64": base64.b64encode(payload).decode("ascii"),
            }
    return documents, streams, files


def _walk(value: Any, swap: Callable[[str], str]) -> Any:
    """A copy of ``value`` with every string (dict keys too) passed through ``swap``."""
    if isinstance(value, str):
        return swap(value)
    if isinstance(value, list):
        return [_walk(v, swap) for v in value]
    if isinstance(value, dict):
        return {swap(k): _walk(v, swap) for k, v in value.items()}
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)


def build_export(record_id: str) -> dict:
    """Everything the tracker holds about the record, as one versioned document."""
    # The index entry is exported as stored; the record is read from the same entry.
    index = get_store().read(records_module.SCOPE).get(records_module.TABLE, record_id)
    if not index:
        raise LookupError(record_id)
    record = records_module.Record.from_doc(index)
    memberships = [
        {k: v for k, v in doc.items() if k != "record_id"}
        for doc in get_store().read(sharing_module.SCOPE).all(sharing_module.TABLE)
        if doc.get("record_id") == record_id
    ]
    documents, streams, files = _collect(record_id)
    preferences = (
        get_store()
        .read(notifications.scope(record.owner_id))
        .get(notifications.PREFS, notifications.PREFS_ID)
        if record.owner_id
        else None
    )
    body: dict[str, Any] = {
        "record": dict(index),
        "sharing": memberships,
        "documents": documents,
        "streams": streams,
        "notification_preferences": dict(preferences) if preferences else None,
    }
    # Every account the data mentions becomes a reference, numbered in email order.
    known = {a.id: a for a in accounts.all_accounts()}
    mentioned = sorted({s for s in _strings(body) if s in known}, key=lambda i: (known[i].email, i))
    refs = {account_id: f"@person-{n}" for n, account_id in enumerate(mentioned, start=1)}
    body = _walk(body, lambda s: refs.get(s, s))
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "exported_at": clock.now().isoformat(),
        "people": {
            ref: {"name": known[account_id].name, "email": known[account_id].email}
            for account_id, ref in refs.items()
        },
        **body,
        "files": files,
    }


def export_bytes(record_id: str) -> bytes:
    """The export as JSON text: keys sorted and indented, so two exports compare line by line."""
    return orjson.dumps(build_export(record_id), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


def export_filename(record_id: str) -> str:
    return f"care-plan-{record_id}-{clock.today().isoformat()}.json"


# --- checking an import ------------------------------------------------------------------


def _one_of(value: Any, allowed: set[str]) -> bool:
    """``value in allowed``, for any JSON value (a list or object is never hashable)."""
    return isinstance(value, str) and value in allowed


class _Checker:
    """Collects every problem with a document, in plain English, without writing anything."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def need(self, ok: bool, message: str) -> bool:
        if not ok:
            self.problems.append(message)
        return ok

    def mapping(self, value: Any, where: str) -> dict:
        return value if self.need(isinstance(value, dict), f"{where} must be an object") else {}

    def listing(self, value: Any, where: str) -> list:
        return value if self.need(isinstance(value, list), f"{where} must be a list") else []

    def read_with(self, reader: Callable[[dict], object] | None, doc: dict, where: str) -> None:
        if reader is None:
            return
        try:
            reader(doc)
        except (KeyError, ValueError, TypeError, AttributeError, ArithmeticError) as exc:
            self.problems.append(f"{where} cannot be read by the tracker ({type(exc).__name__})")


def check_size(size: int, limit: int | None = None) -> None:
    """:class:`ImportRefused` if a file of ``size`` bytes is over ``limit`` (default 64 MB)."""
    limit = MAX_IMPORT_BYTES if limit is None else limit
    if size > limit:
        raise ImportRefused(
            [f"The file is too big to import: the limit is {max(1, limit // 2**20)} MB"]
        )


def parse_document(raw: bytes, limit: int | None = None) -> dict:
    """The document in ``raw``, or :class:`ImportRefused` if it is too big or not JSON."""
    check_size(len(raw), limit)
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ImportRefused(
            ["The file is not a care plan tracker export: it is not JSON"]
        ) from None
    if not isinstance(doc, dict):
        raise ImportRefused(["The file is not a care plan tracker export: it is not a JSON object"])
    return doc


def _check_header(doc: dict, c: _Checker) -> bool:
    if doc.get("schema") != SCHEMA:
        c.problems.append(
            f'The file is not a care plan tracker export ("schema" is not "{SCHEMA}")'
        )
        return False
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        c.problems.append('The export\'s "version" must be a whole number from 1')
        return False
    if version > VERSION:
        c.problems.append(
            f"The export was made by a newer version of the care plan tracker (export version "
            f"{version}). This tracker reads version {VERSION}: update it, then import again"
        )
        return False
    return True


def _check_people(doc: dict, c: _Checker) -> set[str]:
    people = c.mapping(doc.get("people"), "people")
    for ref, person in people.items():
        c.need(bool(_REF_RE.fullmatch(ref)), f"people: {ref!r} is not a reference like @person-1")
        person = c.mapping(person, f"people.{ref}")
        c.need(isinstance(person.get("name"), str), f"people.{ref}.name must be text")
        c.need(
            isinstance(person.get("email"), str) and "@" in person.get("email", ""),
            f"people.{ref}.email must be an email address",
        )
    return set(people)


def _check_record(doc: dict, refs: set[str], c: _Checker) -> None:
    if not c.need(isinstance(doc.get("record"), dict), "record must be an object"):
        return
    record = doc["record"]
    c.need(bool(_ID_RE.fullmatch(str(record.get("id", "")))), "record.id is missing or not an id")
    for key in ("name", "acting_for", "created_at", "created_by"):
        c.need(isinstance(record.get(key), str), f"record.{key} must be text")
    c.need(_one_of(record.get("owner_id"), refs), "record.owner_id must be one of the people")


def _check_sharing(doc: dict, refs: set[str], c: _Checker) -> None:
    seen: set[str] = set()
    roles = {r.value for r in Role}
    categories = {cat.value for cat in Category}
    for i, member in enumerate(c.listing(doc.get("sharing"), "sharing")):
        where = f"sharing[{i}]"
        member = c.mapping(member, where)
        member_id = member.get("id")
        c.need(
            isinstance(member_id, str)
            and bool(_ID_RE.fullmatch(member_id))
            and member_id not in seen,
            f"{where}.id is missing, not an id, or repeated",
        )
        seen.add(str(member_id))
        c.need(_one_of(member.get("user_id"), refs), f"{where}.user_id must be one of the people")
        c.need(
            _one_of(member.get("role"), roles), f"{where}.role must be owner, carer or coordinator"
        )
        cats = c.listing(member.get("categories"), f"{where}.categories")
        c.need(
            all(_one_of(cat, categories) for cat in cats),
            f"{where}.categories has an unknown category",
        )
        c.need(
            member.get("status") in ("active", "revoked"),
            f"{where}.status must be active or revoked",
        )
        c.need(isinstance(member.get("created_at"), str), f"{where}.created_at must be text")


def _check_owner_member(doc: dict, c: _Checker) -> None:
    record = doc.get("record") if isinstance(doc.get("record"), dict) else {}
    members = doc.get("sharing") if isinstance(doc.get("sharing"), list) else []
    owners = [
        m.get("user_id")
        for m in members
        if isinstance(m, dict) and m.get("role") == "owner" and m.get("status") == "active"
    ]
    c.need(
        not isinstance(doc.get("sharing"), list) or owners == [record.get("owner_id")],
        "sharing must hold exactly one current owner membership, for the record's owner",
    )


def _check_documents(doc: dict, c: _Checker) -> None:
    for name, tables in c.mapping(doc.get("documents"), "documents").items():
        ok_name = bool(_NAME_RE.fullmatch(name)) and not _BUCKET_FILE_RE.fullmatch(name)
        if not c.need(ok_name, f"documents: {name!r} is not a document name"):
            continue
        for table, docs in c.mapping(tables, f"documents.{name}").items():
            where = f"documents.{name}.{table}"
            if not c.need(bool(_TABLE_RE.fullmatch(table)), f"{where} is not a table name"):
                continue
            ids: set[str] = set()
            for i, item in enumerate(c.listing(docs, where)):
                item = c.mapping(item, f"{where}[{i}]")
                item_id = item.get("id")
                if c.need(
                    isinstance(item_id, str) and 0 < len(item_id) <= 64 and item_id not in ids,
                    f"{where}[{i}].id is missing or repeated",
                ):
                    ids.add(item_id)
                    c.read_with(_DOC_READERS.get((name, table)), item, f"{where}[{i}]")


def _check_streams(doc: dict, c: _Checker) -> None:
    for stream, buckets in c.mapping(doc.get("streams"), "streams").items():
        if not c.need(
            bool(_STREAM_RE.fullmatch(stream)), f"streams: {stream!r} is not a stream name"
        ):
            continue
        buckets = c.mapping(buckets, f"streams.{stream}")
        parts: dict[str, set[int]] = {}
        ids: set[str] = set()
        for bucket, entries in buckets.items():
            where = f"streams.{stream}.{bucket}"
            match = _BUCKET_RE.fullmatch(bucket)
            if not c.need(match is not None, f"{where} is not a month like 2026-03 or 2026-03.1"):
                continue
            assert match is not None
            parts.setdefault(f"{match.group(1)}-{match.group(2)}", set()).add(
                int(match.group(3) or 0)
            )
            entries = c.listing(entries, where)
            c.need(len(entries) <= BUCKET_CAP, f"{where} has more than {BUCKET_CAP} entries")
            for i, entry in enumerate(entries):
                entry = c.mapping(entry, f"{where}[{i}]")
                entry_id = entry.get("id")
                ok = isinstance(entry_id, str) and _bucket_of(entry_id) == bucket
                if not c.need(
                    ok and entry_id not in ids,
                    f"{where}[{i}].id does not belong to {bucket} or is repeated",
                ):
                    continue
                ids.add(entry_id)
                c.need(
                    isinstance(entry.get("recorded_at"), str),
                    f"{where}[{i}].recorded_at must be text",
                )
                c.need(
                    entry.get("kind") != _PADDING_KIND,
                    f"{where}[{i}] has a kind the tracker keeps for itself",
                )
                c.read_with(_ENTRY_READERS.get(stream), entry, f"{where}[{i}]")
        for month, found in parts.items():
            c.need(
                found == set(range(len(found))),
                f"streams.{stream}: the parts of {month} must run 0, 1, 2… without a gap",
            )


def _check_files(doc: dict, c: _Checker) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for path, item in c.mapping(doc.get("files"), "files").items():
        where = f"files.{path}"
        if not c.need(
            bool(_FILE_RE.fullmatch(path)), f"{where}: only receipt photos can be imported"
        ):
            continue
        item = c.mapping(item, where)
        digest = item.get("sha256")
        try:
            payload = base64.b64decode(str(item.get("base64", "")), validate=True)
        except (binascii.Error, ValueError):
            c.problems.append(f"{where} is not valid base64")
            continue
        if not c.need(
            isinstance(digest, str)
            and bool(_SHA256_RE.fullmatch(digest))
            and hashlib.sha256(payload).hexdigest() == digest,
            f"{where} does not match its sha256: the file may be damaged",
        ):
            continue
        try:
            receipts.clean_image(payload)
        except receipts.InvalidReceipt as exc:
            c.problems.append(f"{where}: {exc.message}")
            continue
        out[path] = payload
    return out


def check_document(doc: dict) -> list[str]:
    """Every problem with an export document, in plain English; empty if it can be imported."""
    c = _Checker()
    if not _check_header(doc, c):
        return c.problems
    refs = _check_people(doc, c)
    _check_record(doc, refs, c)
    _check_sharing(doc, refs, c)
    _check_owner_member(doc, c)
    _check_documents(doc, c)
    _check_streams(doc, c)
    _check_files(doc, c)
    prefs = doc.get("notification_preferences")
    if (
        c.need(
            prefs is None or isinstance(prefs, dict),
            "notification_preferences must be an object or null",
        )
        and prefs
    ):
        c.read_with(
            lambda d: notifications.preferences_from_doc(d).zone, prefs, "notification_preferences"
        )
    c.need(isinstance(doc.get("exported_at"), str), "exported_at must be text")
    return c.problems


# --- import ------------------------------------------------------------------------------


def _map_people(doc: dict, owner_email: str | None) -> tuple[dict[str, str], list[str], list[str]]:
    """Reference → account id on this instance; plus who is linked and who is not."""
    people = doc["people"]
    owner_ref = doc["record"]["owner_id"]
    mapping: dict[str, str] = {}
    linked: list[str] = []
    missing: list[str] = []
    problems: list[str] = []
    roles = {m["user_id"]: m["role"] for m in doc["sharing"] if m["status"] == "active"}
    for ref, person in sorted(people.items()):
        email = owner_email if ref == owner_ref and owner_email else person["email"]
        account = accounts.find_account_by_email(email)
        if ref == owner_ref:
            if account is None:
                problems.append(
                    f"There is no account for {email} here. Ask the person to create one first, "
                    "or name their account with --owner-email"
                )
            else:
                mapping[ref] = account.id
            continue
        if account is None or (
            roles.get(ref) == Role.COORDINATOR.value and not account.is_coordinator
        ):
            missing.append(f"{person['name']} ({person['email']})")
            continue
        mapping[ref] = account.id
        linked.append(f"{person['name']} ({account.email})")
    if problems:
        raise ImportRefused(problems)
    return mapping, linked, missing


def _write_stream(scope: str, stream: str, buckets: dict[str, list[dict]]) -> None:
    """Append each bucket's entries with their own ids, into the same month parts."""
    store = get_store()
    months: dict[str, list[str]] = {}
    for bucket in sorted(buckets, key=_bucket_sort_key):
        months.setdefault(bucket.partition(".")[0], []).append(bucket)
    for month, parts in months.items():
        at = datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=UTC)
        padding: list[str] = []
        for n, bucket in enumerate(parts):
            for entry in buckets[bucket]:
                key = entry["id"].rpartition("-")[2]
                written = store.append_entry(scope, stream, entry, recorded_at=at, client_key=key)
                if written != entry["id"]:
                    raise StoreError(f"entry {entry['id']} was stored as {written}")
            if n < len(parts) - 1:
                # A part that is not full (entries were deleted) is filled for a moment,
                # so the next part's entries land in the next part, as they were.
                for _ in range(BUCKET_CAP - len(buckets[bucket])):
                    padding.append(
                        store.append_entry(scope, stream, {"kind": _PADDING_KIND}, recorded_at=at)
                    )
        for entry_id in padding:
            store.delete_entry(scope, stream, entry_id)


def _write_record(doc: dict, record_id: str, files: dict[str, bytes]) -> None:
    store = get_store()
    base = records_module.log_scope(record_id)
    for name, tables in doc["documents"].items():
        with store.transaction(f"{base}/{name}") as tx:
            for table, docs in tables.items():
                for item in docs:
                    tx.insert(table, item)
    for stream, buckets in doc["streams"].items():
        _write_stream(base, stream, buckets)
    for path, payload in files.items():
        folder, _, name = path.rpartition("/")
        store.write_file(f"{base}/{folder}", name, payload)


def import_document(doc: dict, *, owner_email: str | None = None) -> ImportResult:
    """Recreate a record from its export; :class:`ImportRefused` (nothing written) if it cannot be.

    The owner is the account with ``owner_email`` (by default the email in the
    export), which must exist here. Carers and coordinators are linked again when an
    account with their email exists here (a coordinator's must be a coordinator
    account); the others are listed in the result, to be invited again.
    """
    problems = check_document(doc)
    if problems:
        raise ImportRefused(problems)
    files = _check_files(doc, _Checker())
    record_id = doc["record"]["id"]
    if records_module.get_record(record_id) is not None or _folder(record_id).exists():
        raise ImportRefused([f"A record with the id {record_id} is already here"])
    mapping, linked, missing = _map_people(doc, owner_email)
    data = _walk(
        {
            k: doc[k]
            for k in ("record", "sharing", "documents", "streams", "notification_preferences")
        },
        lambda s: mapping.get(s, s),
    )
    try:
        _write_record(data, record_id, files)
        with get_store().transaction(sharing_module.SCOPE) as tx:
            for member in data["sharing"]:
                if member["user_id"] in mapping.values():
                    tx.insert(sharing_module.TABLE, {"record_id": record_id, **member})
    except (StoreError, OSError) as exc:
        # Such as a record deleted here for good (its folder may never be written again).
        get_store().delete_scope_folder(records_module.log_scope(record_id))
        raise ImportRefused(
            [f"The record could not be written here, so nothing was kept: {exc}"]
        ) from exc
    owner_id = mapping[doc["record"]["owner_id"]]
    prefs = data["notification_preferences"]
    kept = False
    if (
        prefs
        and get_store()
        .read(notifications.scope(owner_id))
        .get(notifications.PREFS, notifications.PREFS_ID)
        is None
    ):
        notifications.save_preferences(owner_id, notifications.preferences_from_doc(prefs))
        kept = True
    # Last: the record appears only once everything it holds is in place.
    with get_store().transaction(records_module.SCOPE) as tx:
        tx.insert(records_module.TABLE, data["record"])
    return ImportResult(record_id, accounts.get_account(owner_id).email, linked, missing, kept)


def import_bytes(
    raw: bytes, *, owner_email: str | None = None, limit: int | None = None
) -> ImportResult:
    """Parse and import an export file's bytes (see :func:`import_document`)."""
    return import_document(parse_document(raw, limit), owner_email=owner_email)
