"""The pre-review summary: what's working, what's not working, and what needs to change.

Built from everything logged since the last review (or since the plan started),
by the rules written down in ``docs/summary-rules.md``. Each statement names the
entries behind it, so every line links to its evidence, and a statement the data
cannot support is left out: no trend without enough readings, no judgement of
"better" or "worse" for a tracker without a target, no completion rate from
fewer than 4 occurrences.

Before sharing, the person can hide statements and add notes and questions (the
draft). Sharing stores a snapshot; the coordinator sees that snapshot, and only
the statements in categories the person lets them see.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache

from . import actions, budget, clock, goals, logs, plans, reviews
from . import trackers as trk
from .clock import LONDON
from .goals import GoalStatus
from .records import record_scope
from .roles import Category
from .store import get_store, new_id

# The rules' numbers, in one place (docs/summary-rules.md explains them).
MIN_OCCURRENCES = 4
CONSISTENT_RATE = 0.8
OFTEN_MISSED_RATE = 0.3
LOW_CONFIDENCE = 6
TREND_WINDOW_DAYS = 28
MIN_TREND_DAYS = 7
TREND_THRESHOLD = 0.10  # of the scale's range
YES_SHARE_THRESHOLD = 0.2
# Money: over- or underspent by more than budget.NOTABLE_VARIANCE (20%) of the planned figure,
# judged only after this many days of the period and once any spending has been recorded.
MIN_BUDGET_DAYS = 28
MAX_NOTE = 1000
MAX_NOTES = 30

DRAFT = "review_draft"
SHARED = "shared_summaries"
DRAFT_ID = "draft"


class Section(StrEnum):
    WORKING = "working"
    NOT_WORKING = "not_working"
    CHANGE = "change"

    @property
    def title(self) -> str:
        return {
            "working": "What's working",
            "not_working": "What's not working",
            "change": "What needs to change",
        }[self.value]


@dataclass(frozen=True)
class Statement:
    key: str
    section: Section
    category: Category | None  # None: the person's own notes, shown to whoever they share with
    text: str
    evidence: tuple[str, ...] = ()  # log entry ids
    goal_id: str | None = None  # for statements about a goal or an action's goal
    line_id: str | None = None  # for money statements: the budget line whose figures they use
    # For money statements: the same words naming the line by its category only ("Travel"),
    # for members shown the budget but not the plan (a line's own words are plan text).
    budget_only_text: str | None = None

    def to_doc(self) -> dict:
        doc = asdict(self)
        doc["section"] = self.section.value
        doc["category"] = self.category.value if self.category else None
        doc["evidence"] = list(self.evidence)
        return doc

    @classmethod
    def from_doc(cls, doc: dict) -> Statement:
        return cls(
            doc["key"],
            Section(doc["section"]),
            Category(doc["category"]) if doc.get("category") else None,
            doc["text"],
            tuple(doc.get("evidence", ())),
            doc.get("goal_id"),
            doc.get("line_id"),
            doc.get("budget_only_text"),
        )


@dataclass(frozen=True)
class Summary:
    start: date
    end: date
    statements: tuple[Statement, ...]
    hidden: frozenset[str] = field(default_factory=frozenset)

    def section(self, section: Section, *, include_hidden: bool = False) -> list[Statement]:
        return [
            s
            for s in self.statements
            if s.section is section and (include_hidden or s.key not in self.hidden)
        ]


def _pct(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def _day_of(doc: dict) -> date:
    return clock.parse(doc["occurred_at"]).astimezone(LONDON).date()


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- the rules ---------------------------------------------------------------------


def _goal_statements(all_goals: list[goals.Goal]) -> list[Statement]:
    out = []
    for g in all_goals:
        if g.status is GoalStatus.ACHIEVED:
            out.append(
                Statement(
                    f"goal-{g.id}",
                    Section.WORKING,
                    Category.PLAN,
                    f"Goal achieved: {g.outcome}",
                    goal_id=g.id,
                )
            )
        elif g.status in (GoalStatus.ON_HOLD, GoalStatus.NOT_ACHIEVED, GoalStatus.ABANDONED):
            note = g.timeline[-1].note if g.timeline else ""
            text = f"Goal {g.status.label.lower()}: {g.outcome}"
            out.append(
                Statement(
                    f"goal-{g.id}",
                    Section.NOT_WORKING,
                    Category.PLAN,
                    f"{text}. Note: {note}" if note else text,
                    goal_id=g.id,
                )
            )
    return out


@lru_cache(maxsize=512)
def _occurrence_days(schedule: actions.Schedule, first: date, last: date) -> tuple[date, ...]:
    """An action's days from ``first`` to ``last``: a pure function of the schedule, so the
    summary, its evidence pages, sharing and the PDF (each compiles it) expand it once."""
    return tuple(schedule.occurrences(first, last))


def _action_statements(
    record_id: str, plan_actions: list[actions.Action], start: date, today: date
) -> list[Statement]:
    out = []
    last = today - timedelta(days=1)  # today's occurrences may still be done
    # The newest mark for each (action, day), as actions.occurrences reads them:
    # (recorded at, outcome, entry id). One pass over the marks for every action.
    newest: dict[tuple[str, str], tuple[str, str, str]] = {}
    if last >= start:
        since = datetime.combine(start, time(), tzinfo=LONDON) - timedelta(days=1)
        first_day = start.isoformat()
        for doc in logs.raw_entries(record_id, kinds=[logs.Kind.ACTION], recorded_since=since):
            data = doc["data"]
            if data["day"] < first_day:
                continue
            key = (data["action_id"], data["day"])
            found = newest.get(key)
            if found is None or doc["recorded_at"] > found[0]:
                newest[key] = (doc["recorded_at"], data["outcome"], doc["id"])
    for a in plan_actions:
        if (
            a.owner is actions.Owner.ME
            and a.confidence is not None
            and a.confidence < LOW_CONFIDENCE
        ):
            out.append(
                Statement(
                    f"confidence-{a.id}",
                    Section.NOT_WORKING,
                    Category.ACTIONS,
                    f"Low confidence: {a.what}. Confidence {a.confidence} out of 10, which may "
                    f"mean the step is too big.",
                    goal_id=a.goal_id,
                )
            )
        if a.owner not in (actions.Owner.ME, actions.Owner.CARER) or last < start:
            continue
        days = _occurrence_days(a.schedule, start, last)
        due = len(days)
        if due < MIN_OCCURRENCES:
            continue
        marks = [newest.get((a.id, day.isoformat())) for day in days]
        counts = Counter(m[1] if m else "unmarked" for m in marks)
        evidence = tuple(m[2] for m in marks if m)
        done = counts[actions.Outcome.DONE.value]
        missed = counts[actions.Outcome.MISSED.value]
        skipped = counts[actions.Outcome.SKIPPED.value]
        if done / due >= CONSISTENT_RATE:
            out.append(
                Statement(
                    f"action-done-{a.id}",
                    Section.WORKING,
                    Category.ACTIONS,
                    f"Done consistently: {a.what}. "
                    f"Done {done} of {due} times ({_pct(done, due)}%).",
                    evidence,
                    a.goal_id,
                )
            )
        if (missed + skipped) / due >= OFTEN_MISSED_RATE:
            out.append(
                Statement(
                    f"action-missed-{a.id}",
                    Section.NOT_WORKING,
                    Category.ACTIONS,
                    f"Often missed or skipped: {a.what}. Missed {missed} and skipped {skipped} of "
                    f"{due} times ({_pct(missed + skipped, due)}%).",
                    evidence,
                    a.goal_id,
                )
            )
    return out


@dataclass(frozen=True)
class _Window:
    average: float
    days: int
    ids: tuple[str, ...]


def _window(
    points: list[tuple[date, float, str]], first: date, last: date, combine: str
) -> _Window | None:
    """The window's average of daily values, from (day, value, entry id) points."""
    per_day: dict[date, list[float]] = defaultdict(list)
    ids = []
    for day, value, entry_id in points:
        if first <= day <= last:
            per_day[day].append(value)
            ids.append(entry_id)
    if len(per_day) < MIN_TREND_DAYS:
        return None
    daily = [
        sum(v) if combine == "sum" else max(v) if combine == "max" else sum(v) / len(v)
        for v in per_day.values()
    ]
    return _Window(sum(daily) / len(daily), len(per_day), tuple(ids))


def _distance(value: float, low: float | None, high: float | None) -> float:
    if low is not None and value < low:
        return low - value
    if high is not None and value > high:
        return value - high
    return 0.0


def _trend(
    key: str,
    name: str,
    category: Category,
    recent: _Window,
    before: _Window,
    *,
    scale_range: float,
    better: str,
    low: float | None = None,
    high: float | None = None,
    unit: str = "",
) -> Statement | None:
    """Improving, worsening or steady in range; ``better`` is "up", "down" or "target"."""
    # Averages of decimals carry float noise (3.4 - 3.0 is 0.3999…), so changes are
    # compared with the threshold to a millionth: a change of exactly 10% counts.
    threshold = round(TREND_THRESHOLD * scale_range, 6)
    u = f" {unit}" if unit else ""
    words = (
        f"average {recent.average:.1f}{u} in the last 4 weeks, "
        f"{'up' if recent.average > before.average else 'down'} from "
        f"{before.average:.1f}{u} in the 4 weeks before"
    )
    moved = round(abs(recent.average - before.average), 6)
    if better == "target":
        change = _distance(before.average, low, high) - _distance(recent.average, low, high)
        # Steady: inside the range in both windows, and not moved by the threshold.
        in_range = (
            _distance(recent.average, low, high) == 0
            and _distance(before.average, low, high) == 0
            and moved < threshold
        )
    else:
        change = (recent.average - before.average) * (1 if better == "up" else -1)
        in_range = False
    change = round(change, 6)
    evidence = before.ids + recent.ids
    if change >= threshold:
        return Statement(key, Section.WORKING, category, f"{name} improving: {words}.", evidence)
    if change <= -threshold:
        return Statement(
            key, Section.NOT_WORKING, category, f"{name} worsening: {words}.", evidence
        )
    if in_range:
        return Statement(
            key,
            Section.WORKING,
            category,
            f"{name} steady inside the target range: average "
            f"{recent.average:.1f}{u} in the last 4 weeks.",
            evidence,
        )
    return None


def _trend_statements(
    record_id: str, docs: list[dict], trackers: list[trk.Tracker], start: date, today: date
) -> list[Statement]:
    recent = (today - timedelta(days=TREND_WINDOW_DAYS - 1), today)
    before = (recent[0] - timedelta(days=TREND_WINDOW_DAYS), recent[0] - timedelta(days=1))
    if before[0] < start:
        return []  # not enough time since the last review to compare two windows
    out = []
    # Only the two windows' entries are read (``docs`` is newest first), and each
    # one's UK day is worked out once: mood under "mood", readings by tracker id.
    earliest = datetime.combine(before[0], time(), tzinfo=LONDON)
    mood_kind, reading_kind = logs.Kind.MOOD.value, logs.Kind.READING.value
    points: dict[str | None, list[tuple[date, float, str]]] = defaultdict(list)
    for d in docs:
        when = clock.parse(d["occurred_at"])
        if when < earliest:
            break
        if d["kind"] == mood_kind:
            points["mood"].append((when.astimezone(LONDON).date(), d["data"]["score"], d["id"]))
        elif d["kind"] == reading_kind:
            points[d["data"].get("tracker_id")].append(
                (when.astimezone(LONDON).date(), d["data"]["value"], d["id"])
            )
    r = _window(points["mood"], *recent, "mean")
    b = _window(points["mood"], *before, "mean")
    if r and b:
        s = _trend("trend-mood", "Mood", Category.MOOD, r, b, scale_range=4, better="up")
        if s:
            out.append(s)
    for t in trackers:
        if t.kind is trk.TrackerKind.YES_NO:
            # Only an "any yes" warning rule says which way is better (fewer yes days).
            if t.rule is None or t.rule.kind is not trk.RuleKind.ANY_YES:
                continue
        elif t.target_min is None and t.target_max is None:
            continue  # no target: "better" is not ours to judge
        combine = {trk.TrackerKind.COUNT: "sum", trk.TrackerKind.YES_NO: "max"}.get(t.kind, "mean")
        r = _window(points[t.id], *recent, combine)
        b = _window(points[t.id], *before, combine)
        if not (r and b):
            continue
        if t.kind is trk.TrackerKind.YES_NO:
            s = _trend(
                f"trend-{t.id}",
                t.name,
                Category.SYMPTOMS,
                r,
                b,
                scale_range=YES_SHARE_THRESHOLD / TREND_THRESHOLD,
                better="down",
            )
        else:
            if t.target_min is not None and t.target_max is not None:
                width = t.target_max - t.target_min
            else:  # a range with one end: that end's value stands for its size
                width = abs(t.target_min if t.target_min is not None else t.target_max)
            scale_range = 10.0 if t.kind is trk.TrackerKind.SCALE else max(width, 1.0)
            s = _trend(
                f"trend-{t.id}",
                t.name,
                Category.SYMPTOMS,
                r,
                b,
                scale_range=scale_range,
                better="target",
                low=t.target_min,
                high=t.target_max,
                unit=t.unit,
            )
        if s:
            out.append(s)
    return out


def _log_statements(
    docs: list[dict], trackers: dict[str, trk.Tracker], start: date
) -> list[Statement]:
    out = []
    hits: dict[str, list[dict]] = defaultdict(list)
    given, missed = [], []
    # Plain strings, looked up once: this loop sees every entry of the period.
    diary, rule_hit, event_kind, support = (
        logs.Kind.DIARY.value,
        logs.Kind.RULE_HIT.value,
        logs.Kind.EVENT.value,
        logs.Kind.SUPPORT.value,
    )
    working_mark = logs.DiaryMark.WORKING.value
    given_kind, missed_kind = logs.SupportKind.GIVEN.value, logs.SupportKind.MISSED.value
    first_day = start.isoformat()
    for d in docs:
        kind, data = d["kind"], d["data"]
        if kind == diary and data.get("mark"):
            working = data["mark"] == working_mark
            out.append(
                Statement(
                    f"diary-{d['id']}",
                    Section.WORKING if working else Section.NOT_WORKING,
                    Category.DIARY,
                    f"Diary, {_nhs(_day_of(d))}: {_short(data['text'])}",
                    (d["id"],),
                    data.get("goal_id"),
                )
            )
        elif kind == rule_hit:
            # A hit is about the day in its data (a back-filled reading can find one later).
            if data["day"] >= first_day:
                hits[data["tracker_id"]].append(d)
        elif kind == event_kind:
            event = logs.EventType(data["event"])
            note = f": {_short(data['note'], 150)}" if data.get("note") else ""
            section = Section.NOT_WORKING if event.unplanned_care else Section.CHANGE
            lead = "Unplanned care" if event.unplanned_care else "Change in life"
            out.append(
                Statement(
                    f"event-{d['id']}",
                    section,
                    Category.PLAN,
                    f"{lead}, {_nhs(_day_of(d))}: {event.label}{note}",
                    (d["id"],),
                )
            )
        elif kind == support:
            if data["kind"] == given_kind:
                given.append(d)
            elif data["kind"] == missed_kind:
                missed.append(d)
    for tracker_id, found in hits.items():
        name = (
            trackers[tracker_id].name
            if tracker_id in trackers
            else found[0]["data"].get("tracker_name", "A tracker")
        )
        latest = max(found, key=lambda d: d["data"]["day"])
        out.append(
            Statement(
                f"hits-{tracker_id}",
                Section.NOT_WORKING,
                Category.SYMPTOMS,
                f"Early warning sign for {name} {_times(len(found))}: "
                f"{latest['data']['rule'].lower()} "
                f"(last on {_nhs(date.fromisoformat(latest['data']['day']))}).",
                tuple(d["id"] for d in found),
            )
        )
    if given:
        minutes = sum(d["data"].get("minutes") or 0 for d in given)
        hours = f", {minutes / 60:.1f} hours in all" if minutes else ""
        out.append(
            Statement(
                "support-given",
                Section.WORKING,
                Category.SUPPORT,
                f"Support given {_times(len(given))}{hours}.",
                tuple(d["id"] for d in given),
            )
        )
    if missed:
        reasons = Counter(
            d["data"].get("reason_text") or logs.MissedReason(d["data"]["reason"]).label
            if d["data"].get("reason")
            else "no reason given"
            for d in missed
        )
        why = ", ".join(
            f"{r.lower() if r[:1].isupper() and r[1:2].islower() else r} ({n})"
            for r, n in reasons.most_common()
        )
        out.append(
            Statement(
                "support-missed",
                Section.NOT_WORKING,
                Category.SUPPORT,
                f"Planned support missed {_times(len(missed))}: {why}.",
                tuple(d["id"] for d in missed),
            )
        )
    return out


def _budget_statements(
    record_id: str, plan: plans.Plan, docs: list[dict], start: date, today: date
) -> list[Statement]:
    """Lines within 20% of the plan so far (working), lines over- or underspent by more,
    and an underspent personal assistant line beside missed support (not working)."""
    if plan.start_date is None or not plan.budget_lines:
        return []
    first = max(start, plan.start_date)
    spends = budget.list_spending(record_id, first, today)
    if not spends or (today - first).days + 1 < MIN_BUDGET_DAYS:
        return []
    lines, _, _ = budget.position_between(plan, spends, first, today, today)
    missed_kind, support = logs.SupportKind.MISSED.value, logs.Kind.SUPPORT.value
    missed = [
        d["id"]
        for d in docs
        if d["kind"] == support and d["data"]["kind"] == missed_kind and _day_of(d) >= first
    ]
    out = []
    for lp in lines:
        # Worded twice: with the line's own words (plan text), and by its category only.
        as_planned = _line_statements(lp, first, missed, lp.line.what)
        category_only = _line_statements(lp, first, missed, lp.line.category.label)
        for (key, section, words, evidence), (_, _, plain, _) in zip(
            as_planned, category_only, strict=True
        ):
            out.append(
                Statement(
                    key,
                    section,
                    Category.BUDGET,
                    words,
                    evidence,
                    line_id=lp.line.id,
                    budget_only_text=plain,
                )
            )
    return out


def _line_statements(
    lp: budget.LinePosition, first: date, missed: list[str], name: str
) -> list[tuple[str, Section, str, tuple[str, ...]]]:
    """(key, section, text, evidence) of one line's money statements, calling it ``name``."""
    pos, line = lp.position, lp.line
    figures = (
        f"{budget.pounds(pos.planned_to_date, whole=True)} planned and "
        f"{budget.pounds(pos.spent_to_date, whole=True)} spent since {_nhs(first)}"
    )
    if not pos.notable:
        # On track only with spending on the line to show for it.
        if pos.spent_to_date and pos.planned_to_date:
            return [
                (
                    f"budget-ok-{line.id}",
                    Section.WORKING,
                    f"Budget, {name}: within 20% of the plan ({figures}).",
                    (),
                )
            ]
        return []
    out = [
        (f"budget-{line.id}", Section.NOT_WORKING, f"Budget, {name}: {pos.words} ({figures}).", ())
    ]
    if line.category is plans.LineCategory.PA_WAGES and pos.variance > 0 and missed:
        out.append(
            (
                f"budget-pa-{line.id}",
                Section.NOT_WORKING,
                f"{name} is {pos.words.replace(', ', ' (')}) while planned support "
                f"was missed {_times(len(missed))} in the same period: some support may "
                "not have been given.",
                tuple(missed),
            )
        )
    return out


_MONTHS = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _nhs(day: date) -> str:
    """ "3 June 2026" (English month names whatever the locale; strftime is slow here)."""
    return f"{day.day} {_MONTHS[day.month]} {day.year}"


def compile_summary(
    record_id: str, *, today: date | None = None, start: date | None = None
) -> Summary:
    """Every statement the evidence supports, from the period's start to today."""
    today = today or clock.today()
    plan = plans.get_plan(record_id)
    start = start or reviews.period_start(record_id, plan) or today - timedelta(days=90)
    since = datetime.combine(start, time(), tzinfo=LONDON)
    docs = logs.visible_docs(record_id, since=since)
    plan_actions = actions.list_actions(record_id)
    all_trackers = trk.list_trackers(record_id, include_archived=True)
    statements = [
        *_goal_statements(goals.list_goals(record_id)),
        *_action_statements(record_id, plan_actions, start, today),
        *_trend_statements(record_id, docs, all_trackers, start, today),
        *_log_statements(docs, {t.id: t for t in all_trackers}, start),
        *_budget_statements(record_id, plan, docs, start, today),
    ]
    draft = get_draft(record_id)
    notes = [
        Statement(
            f"note-{n['id']}",
            Section.CHANGE,
            None,
            ("Question: " if n["kind"] == "question" else "") + n["text"],
        )
        for n in draft["notes"]
    ]
    return Summary(start, today, tuple(statements + notes), frozenset(draft["hidden"]))


# --- the person's draft, and sharing it --------------------------------------------------


def get_draft(record_id: str) -> dict:
    doc = get_store().read(record_scope(record_id)).get(DRAFT, DRAFT_ID)
    return {
        "hidden": list((doc or {}).get("hidden", [])),
        "notes": list((doc or {}).get("notes", [])),
    }


def _change_draft(record_id: str, change) -> None:
    with get_store().transaction(record_scope(record_id)) as tx:
        doc = tx.get(DRAFT, DRAFT_ID) or {"id": DRAFT_ID, "hidden": [], "notes": []}
        change(doc)
        tx.replace(DRAFT, doc)


def set_hidden(record_id: str, key: str, hidden: bool) -> None:
    """Hide a statement from the summary the person shares (or show it again)."""

    def change(doc: dict) -> None:
        keys = set(doc.get("hidden", []))
        (keys.add if hidden else keys.discard)(key)
        doc["hidden"] = sorted(keys)

    _change_draft(record_id, change)


class TooManyNotes(Exception):
    pass


def add_note(record_id: str, *, text: str, question: bool, by: str) -> None:
    """Add the person's own note, or a question to raise at the review."""
    text = text.strip()
    if not text or len(text) > MAX_NOTE:
        raise ValueError("a note is 1 to 1000 characters")

    def change(doc: dict) -> None:
        if len(doc.get("notes", [])) >= MAX_NOTES:
            raise TooManyNotes
        doc["notes"] = [
            *doc.get("notes", []),
            {
                "id": new_id(4),
                "text": text,
                "kind": "question" if question else "note",
                "at": clock.now().isoformat(),
                "by": by,
            },
        ]

    _change_draft(record_id, change)


def remove_note(record_id: str, note_id: str) -> bool:
    removed = []

    def change(doc: dict) -> None:
        before = doc.get("notes", [])
        doc["notes"] = [n for n in before if n["id"] != note_id]
        removed.append(len(before) != len(doc["notes"]))

    _change_draft(record_id, change)
    return removed[0]


@dataclass(frozen=True)
class Shared:
    shared_at: str
    start: date
    end: date
    statements: tuple[Statement, ...]

    def visible_to(self, categories: frozenset[Category]) -> list[Statement]:
        """The statements in the categories given; money ones without plan text unless
        the plan is among them (each budget line then named by its category only)."""
        out = []
        for s in self.statements:
            if s.category is not None and s.category not in categories:
                continue
            if s.line_id and Category.PLAN not in categories:
                if s.budget_only_text is None:
                    continue  # shared before lines had category-only words: left out
                s = replace(s, text=s.budget_only_text)
            out.append(s)
        return out


def share(record_id: str, *, by: str, today: date | None = None) -> Shared:
    """Share the draft as it is now: the statements not hidden, and the notes."""
    summary = compile_summary(record_id, today=today)
    kept = [s for s in summary.statements if s.key not in summary.hidden]
    doc = {
        "id": new_id(),
        "shared_at": clock.now().isoformat(),
        "shared_by": by,
        "start": summary.start.isoformat(),
        "end": summary.end.isoformat(),
        "statements": [s.to_doc() for s in kept],
    }
    with get_store().transaction(record_scope(record_id)) as tx:
        tx.insert(SHARED, doc)
    return _shared(doc)


def _shared(doc: dict) -> Shared:
    return Shared(
        doc["shared_at"],
        date.fromisoformat(doc["start"]),
        date.fromisoformat(doc["end"]),
        tuple(Statement.from_doc(s) for s in doc["statements"]),
    )


def latest_shared(record_id: str) -> Shared | None:
    docs = get_store().read(record_scope(record_id)).all(SHARED)
    if not docs:
        return None
    # The newest; of two shared in the same instant, the one stored last.
    return _shared(max(enumerate(docs), key=lambda pair: (pair[1]["shared_at"], pair[0]))[1])
