"""The person's preferences for their record, such as the weekly wellbeing questions."""

from __future__ import annotations

from dataclasses import dataclass

from .records import record_scope
from .store import get_store

TABLE = "settings"
DOC_ID = "prefs"


@dataclass(frozen=True)
class Settings:
    ons4: bool = False  # ask the ONS personal wellbeing questions, at most weekly
    warnings_to_carers: bool = False  # tell carers (who see symptoms) about early warning signs


def get(record_id: str) -> Settings:
    doc = get_store().read(record_scope(record_id)).get(TABLE, DOC_ID) or {}
    return Settings(
        ons4=bool(doc.get("ons4")), warnings_to_carers=bool(doc.get("warnings_to_carers"))
    )


def set_ons4(record_id: str, on: bool) -> None:
    with get_store().transaction(record_scope(record_id)) as tx:
        tx.replace(TABLE, {**(tx.get(TABLE, DOC_ID) or {"id": DOC_ID}), "ons4": on})


def set_warnings_to_carers(record_id: str, on: bool) -> None:
    with get_store().transaction(record_scope(record_id)) as tx:
        tx.replace(TABLE, {**(tx.get(TABLE, DOC_ID) or {"id": DOC_ID}), "warnings_to_carers": on})
