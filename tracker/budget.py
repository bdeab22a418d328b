"""Budget monitoring: the plan's budget lines against what is spent, month by month.

The plan holds the lines (``plans.BudgetLine``: a category, an amount per week,
month, year or once, and the outcomes it serves). This module holds the
spending records and does the sums, by the rules written down in
``docs/budget-rules.md``:

* Money is ``Decimal`` end to end and is stored as a string ("12.50"). Every
  function that takes an amount refuses a float with ``TypeError``, so a float
  can never reach a stored money field. Figures are rounded half-up to the
  penny only when shown.
* Planned to date is pro rata from the plan's start: weekly lines by the day
  (amount × days ÷ 7), monthly lines by the day of each calendar month, yearly
  lines by the day of each plan year (366 days when it holds a 29 February),
  and a one-off line in full from its date.
* Plan years run from the plan's start date to the day before each anniversary.

Spending records live in their own month-by-month ``spend`` stream beside the
record's logs, so writing one never rewrites more than one small file.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from . import clock, plans, receipts
from .plans import BudgetHeld, BudgetLine, LinePeriod, Plan
from .presenters import nhs_date
from .records import log_scope, record_scope
from .store import get_store

STREAM = "spend"
MAX_AMOUNT = Decimal("1000000")
MAX_PAYEE = 200
MAX_NOTE = 1000
# Over- or underspent by more than this share of the planned figure is worth a word.
NOTABLE_VARIANCE = Decimal("0.20")
PENNY = Decimal("0.01")

# Optional £, whole pounds (with commas every three digits, or none), optional pence.
_MONEY = re.compile(
    r"£?\s*(?P<pounds>\d{1,3}(?:,\d{3})+|\d{1,7})(?:\.(?P<pence>\d{1,2}))?", re.ASCII
)
MONEY_MESSAGE = "Enter the amount in pounds and pence, like 45.50 or £1,250"


class InvalidSpend(ValueError):
    """A spending record that cannot be stored; the message is for the person."""


class UnknownLine(LookupError):
    """The plan has no budget line with that id."""


# --- money ---------------------------------------------------------------------------


def require_decimal(amount: Decimal) -> Decimal:
    """``amount``, or ``TypeError`` for anything but a ``Decimal`` (a float above all)."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    return amount


def check_money(amount: Decimal) -> Decimal:
    """``amount`` if it is a real, positive amount of pounds and pence within the limit.

    Raises ``TypeError`` for anything but a ``Decimal`` (a float above all).
    """
    if not require_decimal(amount).is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise InvalidSpend(MONEY_MESSAGE)
    if not Decimal(0) < amount <= MAX_AMOUNT:
        raise InvalidSpend(f"The amount must be more than £0 and no more than £{MAX_AMOUNT:,.0f}")
    return amount


def parse_money(text: str) -> Decimal:
    """Read an amount typed by a person ("45.5", "£1,250.00"); ``InvalidSpend`` otherwise."""
    match = _MONEY.fullmatch((text or "").strip())
    if not match:
        raise InvalidSpend(MONEY_MESSAGE)
    pounds = match["pounds"].replace(",", "")
    pence = (match["pence"] or "").ljust(2, "0")
    return check_money(Decimal(f"{pounds}.{pence}"))


def pounds(amount: Decimal, *, whole: bool = False) -> str:
    """ "£1,234.50" (or "£1,235" with ``whole``), rounded half-up; never "-£0"."""
    step = Decimal(1) if whole else PENNY
    value = amount.quantize(step, rounding=ROUND_HALF_UP)
    if value == 0:
        value = abs(value)
    sign = "-" if value < 0 else ""
    return f"{sign}£{abs(value):,.0f}" if whole else f"{sign}£{abs(value):,.2f}"


def percent(part: Decimal, whole: Decimal) -> int:
    """``part`` as a whole-number percentage of ``whole``, rounded half-up (0 if whole is 0)."""
    if whole == 0:
        return 0
    return int((100 * part / whole).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def describe_variance(planned: Decimal, spent: Decimal) -> str:
    """ "£412 underspent, 18%", "£30 overspent, 5%", "On budget", in words and figures.

    Under half a percent of the plan either way is "About on budget (£2 underspent)".
    """
    difference = planned - spent
    if difference.quantize(Decimal(1), rounding=ROUND_HALF_UP) == 0:
        return "On budget"
    if planned == 0:
        return f"{pounds(spent, whole=True)} spent, with nothing planned yet"
    words = "underspent" if difference > 0 else "overspent"
    share = percent(abs(difference), planned)
    if share == 0:  # "£2 underspent, 0%" reads as a contradiction
        return f"About on budget ({pounds(abs(difference), whole=True)} {words})"
    return f"{pounds(abs(difference), whole=True)} {words}, {share}%"


# --- plan years and pro rata -----------------------------------------------------------


def anniversary(start: date, years: int) -> date:
    """``start`` moved on by whole years; a 29 February start falls on 1 March."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 3, 1)


def plan_year(start: date, on: date) -> tuple[date, date]:
    """The first and last day of the plan year that holds ``on`` (the first if before it)."""
    years = max(on.year - start.year, 0)
    while years > 0 and anniversary(start, years) > on:
        years -= 1
    return anniversary(start, years), anniversary(start, years + 1) - timedelta(days=1)


def _days(first: date, last: date) -> int:
    return max((last - first).days + 1, 0)


def _month_last(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def planned_between(line: BudgetLine, start: date, first: date, last: date) -> Decimal:
    """What the plan sets aside for ``line`` from ``first`` to ``last`` (both included).

    Nothing is planned before the plan's ``start``. The result is exact, not rounded.
    """
    first = max(first, start)
    if last < first:
        return Decimal(0)
    # The plan's own form allows lines up to £10 million: only the type is checked here.
    amount = require_decimal(line.amount)
    if line.period is LinePeriod.ONE_OFF:
        due = max(line.due_on or start, start)  # nothing is planned before the plan starts
        return amount if first <= due <= last else Decimal(0)
    if line.period is LinePeriod.WEEKLY:
        return amount * _days(first, last) / 7
    total = Decimal(0)
    cursor = first
    while cursor <= last:
        if line.period is LinePeriod.MONTHLY:
            span_first, span_last = cursor.replace(day=1), _month_last(cursor)
        else:
            span_first, span_last = plan_year(start, cursor)
        piece_last = min(span_last, last)
        total += amount * _days(cursor, piece_last) / _days(span_first, span_last)
        cursor = piece_last + timedelta(days=1)
    return total


# --- spending records -----------------------------------------------------------------


@dataclass(frozen=True)
class Spend:
    id: str
    on: date
    amount: Decimal
    payee: str
    line_id: str
    note: str
    receipt_id: str | None
    author_id: str
    recorded_at: str

    @classmethod
    def from_doc(cls, doc: dict) -> Spend:
        return cls(
            doc["id"],
            date.fromisoformat(doc["on"]),
            Decimal(doc["amount"]),
            doc["payee"],
            doc["line_id"],
            doc.get("note", ""),
            doc.get("receipt_id"),
            doc["author_id"],
            doc.get("recorded_at", ""),
        )


def spending_period(plan: Plan, today: date | None = None) -> tuple[date, date] | None:
    """The days a spend may fall on: from the plan's start to today (``None`` without a start)."""
    if plan.start_date is None:
        return None
    return plan.start_date, today or clock.today()


def period_problem(plan: Plan, on: date, today: date | None = None) -> str | None:
    """Why a spend cannot fall on ``on``, in plain English, or ``None`` if it can."""
    period = spending_period(plan, today)
    if period is None:
        return "Add the date the plan started before recording spending"
    if on < period[0]:
        return f"The date must be on or after the plan started ({nhs_date(period[0])})"
    if on > period[1]:
        return "The date must be today or in the past"
    return None


def find_line(plan: Plan, line_id: str) -> BudgetLine:
    """The plan's line with that id; ``UnknownLine`` (a 404) otherwise."""
    for line in plan.budget_lines:
        if line.id == line_id:
            return line
    raise UnknownLine(line_id)


def record_spending(
    record_id: str,
    *,
    on: date,
    amount: Decimal,
    payee: str,
    line_id: str,
    author_id: str,
    note: str = "",
    receipt_id: str | None = None,
    client_key: str | None = None,
) -> Spend:
    """Store one spending record, checked again here so nothing invalid is ever kept."""
    check_money(amount)
    plan = plans.get_plan(record_id)
    find_line(plan, line_id)
    problem = period_problem(plan, on)
    if problem:
        raise InvalidSpend(problem)
    payee, note = (payee or "").strip(), (note or "").strip()
    if not payee:
        raise InvalidSpend("Enter who was paid")
    if len(payee) > MAX_PAYEE or len(note) > MAX_NOTE:
        raise InvalidSpend("The payee or the note is too long")
    doc = {
        "on": on.isoformat(),
        "amount": str(amount.quantize(PENNY)),
        "payee": payee,
        "line_id": line_id,
        "note": note,
        "receipt_id": receipt_id,
        "author_id": author_id,
    }
    spend_id = get_store().append_entry(
        log_scope(record_id), STREAM, doc, recorded_at=clock.now(), client_key=client_key
    )
    spend = get_spend(record_id, spend_id)
    assert spend is not None
    return spend


def get_spend(record_id: str, spend_id: str) -> Spend | None:
    doc = get_store().get_entry(log_scope(record_id), STREAM, spend_id)
    return Spend.from_doc(doc) if doc else None


def remove_spending(record_id: str, spend_id: str) -> bool:
    """Delete a spending record made by mistake, and its receipt; ``False`` if there is none."""
    spend = get_spend(record_id, spend_id)
    if spend is None or not get_store().delete_entry(log_scope(record_id), STREAM, spend_id):
        return False
    if spend.receipt_id:
        receipts.delete_receipt(record_id, spend.receipt_id)
    return True


def list_spending(
    record_id: str, first: date | None = None, last: date | None = None
) -> list[Spend]:
    """Spending records whose date falls from ``first`` to ``last``, oldest first."""
    docs = get_store().list_entries(log_scope(record_id), STREAM)
    lo, hi = (first or date.min).isoformat(), (last or date.max).isoformat()
    chosen = sorted((d for d in docs if lo <= d["on"] <= hi), key=lambda d: (d["on"], d["id"]))
    return [Spend.from_doc(d) for d in chosen]


# --- positions: planned against spent ------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """Planned to date, spent to date, and the projected year-end, for a line or the whole."""

    planned_to_date: Decimal
    spent_to_date: Decimal
    planned_year: Decimal
    projected_year: Decimal

    @property
    def variance(self) -> Decimal:
        """Positive when underspent, negative when overspent."""
        return self.planned_to_date - self.spent_to_date

    @property
    def variance_share(self) -> Decimal | None:
        """The variance as a share of planned to date (``None`` with nothing planned)."""
        return self.variance / self.planned_to_date if self.planned_to_date else None

    @property
    def words(self) -> str:
        return describe_variance(self.planned_to_date, self.spent_to_date)

    @property
    def projected_words(self) -> str:
        return describe_variance(self.planned_year, self.projected_year)

    @property
    def notable(self) -> bool:
        share = self.variance_share
        return share is not None and abs(share) > NOTABLE_VARIANCE


@dataclass(frozen=True)
class LinePosition:
    line: BudgetLine
    position: Position


@dataclass(frozen=True)
class BudgetPosition:
    """The whole budget over one plan year, as at ``through``."""

    held: BudgetHeld | None
    total: Decimal | None
    year_first: date
    year_last: date
    through: date
    lines: tuple[LinePosition, ...]
    whole: Position
    unplanned_spent: Decimal  # spending on lines no longer in the plan


def _position(
    line: BudgetLine, start: date, first: date, through: date, last: date, spent: Decimal
) -> Position:
    planned_to_date = planned_between(line, start, first, through)
    planned_year = planned_between(line, start, first, last)
    elapsed = _days(max(first, start), through)
    if line.period is LinePeriod.ONE_OFF:
        projected = max(spent, planned_year)
    elif elapsed:
        projected = spent * _days(max(first, start), last) / elapsed
    else:
        projected = planned_year
    return Position(planned_to_date, spent, planned_year, projected)


def position_between(
    plan: Plan, spends: Iterable[Spend], first: date, through: date, last: date
) -> tuple[tuple[LinePosition, ...], Position, Decimal]:
    """Each line's position from ``first`` to ``through``, projected on to ``last``."""
    assert plan.start_date is not None
    spent: dict[str, Decimal] = {}
    for s in spends:
        if first <= s.on <= through:
            spent[s.line_id] = spent.get(s.line_id, Decimal(0)) + s.amount
    lines = tuple(
        LinePosition(
            line,
            _position(line, plan.start_date, first, through, last, spent.get(line.id, Decimal(0))),
        )
        for line in plan.budget_lines
    )
    known = {line.id for line in plan.budget_lines}
    unplanned = sum((v for k, v in spent.items() if k not in known), Decimal(0))
    whole = Position(
        sum((p.position.planned_to_date for p in lines), Decimal(0)),
        sum((p.position.spent_to_date for p in lines), Decimal(0)) + unplanned,
        sum((p.position.planned_year for p in lines), Decimal(0)),
        sum((p.position.projected_year for p in lines), Decimal(0)) + unplanned,
    )
    return lines, whole, unplanned


def budget_position(
    record_id: str,
    today: date | None = None,
    *,
    plan: Plan | None = None,
    spends: Iterable[Spend] | None = None,
) -> BudgetPosition | None:
    """The current plan year's position; ``None`` if the plan has no start date yet.

    Pass ``plan`` or ``spends`` (any superset of the year's) when the caller has
    already read them, so the store is read once.
    """
    plan = plan or plans.get_plan(record_id)
    if plan.start_date is None:
        return None
    through = today or clock.today()
    first, last = plan_year(plan.start_date, max(through, plan.start_date))
    if spends is None:
        spends = list_spending(record_id, first, through)
    lines, whole, unplanned = position_between(plan, spends, first, through, last)
    return BudgetPosition(
        plan.budget_held, plan.budget_total, first, last, through, lines, whole, unplanned
    )


# --- statements --------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementRow:
    spend: Spend
    line_name: str
    category: str


@dataclass(frozen=True)
class Statement:
    """Every spend from ``first`` to ``last``, with totals by line: the direct payment record."""

    first: date
    last: date
    rows: tuple[StatementRow, ...]
    by_line: tuple[tuple[str, Decimal], ...]
    total: Decimal


NO_LONGER_PLANNED = "No longer in the plan"


def line_names(plan: Plan, *, show_plan_text: bool) -> dict[str, str]:
    """What to call each line: its words in the plan, or only its category for a member
    who is shown the budget but not the plan (the line's words are plan text)."""
    return {
        line.id: line.what if show_plan_text else line.category.label for line in plan.budget_lines
    }


def spending_statement(
    record_id: str,
    first: date,
    last: date,
    *,
    show_plan_text: bool = True,
    plan: Plan | None = None,
) -> Statement:
    """The statement for any period (``first`` after ``last`` gives an empty one)."""
    plan = plan or plans.get_plan(record_id)
    lines = {line.id: line for line in plan.budget_lines}
    names = line_names(plan, show_plan_text=show_plan_text)
    rows = []
    totals: dict[str, Decimal] = {}
    for spend in list_spending(record_id, first, last):
        line = lines.get(spend.line_id)
        name = names.get(spend.line_id, NO_LONGER_PLANNED)
        rows.append(StatementRow(spend, name, line.category.label if line else ""))
        totals[name] = totals.get(name, Decimal(0)) + spend.amount
    order = [*names.values(), NO_LONGER_PLANNED]
    by_line = tuple(
        (name, totals[name])
        for name in sorted(totals, key=lambda n: order.index(n) if n in order else len(order))
    )
    return Statement(first, last, tuple(rows), by_line, sum(totals.values(), Decimal(0)))


CSV_HEADER = ("Date", "Budget line", "Category", "Paid to", "Amount (£)", "Note", "Receipt")


def _cell(text: str) -> str:
    # A spreadsheet runs a cell that starts with = + - @ as a formula: keep it text.
    return f"'{text}" if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def statement_csv(statement: Statement) -> str:
    """The statement as CSV: one row per spend, then a "Total" row. Amounts like 12.50."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in statement.rows:
        s = row.spend
        writer.writerow(
            (
                s.on.isoformat(),
                _cell(row.line_name),
                row.category,
                _cell(s.payee),
                f"{s.amount:.2f}",
                _cell(s.note),
                "Yes" if s.receipt_id else "No",
            )
        )
    writer.writerow(("", "Total", "", "", f"{statement.total:.2f}", "", ""))
    return out.getvalue()


# --- the monthly reminder -----------------------------------------------------------------

SETTINGS = "budget_settings"
SETTINGS_ID = "settings"
REMINDER_TEXT = "Record this month's spending"


def monthly_reminder_on(record_id: str) -> bool:
    """Whether the person asked for a reminder on each month's last day (off by default)."""
    doc = get_store().read(record_scope(record_id)).get(SETTINGS, SETTINGS_ID)
    return bool(doc and doc.get("monthly_reminder"))


def set_monthly_reminder(record_id: str, on: bool) -> None:
    with get_store().transaction(record_scope(record_id)) as tx:
        tx.replace(SETTINGS, {"id": SETTINGS_ID, "monthly_reminder": bool(on)})


def is_month_end(day: date) -> bool:
    """The day the monthly reminder falls on: the last day of each month."""
    return day == _month_last(day)


# --- for the review summary -----------------------------------------------------------------


def bar_widths(position: Position, width: int = 300) -> dict[str, int]:
    """Lengths (out of ``width``) for the SVG bar: the year's plan, spent, the projection,
    and where planned-to-date falls. Presentation only: money itself stays ``Decimal``."""
    scale = max(position.planned_year, position.projected_year, position.spent_to_date, Decimal(1))

    def length(amount: Decimal) -> int:
        return int((amount * width / scale).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    return {
        "year": length(position.planned_year),
        "spent": length(position.spent_to_date),
        "projected": length(position.projected_year),
        "to_date": length(position.planned_to_date),
    }
