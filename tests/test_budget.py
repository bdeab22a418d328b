"""Budget monitoring: pro rata worked by hand, Decimal money, spending, statements, sharing.

The pro-rata examples are worked out on paper first (the sums are in each test's
comment), then checked against ``budget.planned_between``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine

from tracker import budget, clock, goals, plans, sharing
from tracker.plans import BudgetLine, LineCategory, LinePeriod
from tracker.roles import DEFAULT_CATEGORIES, Category, Role

from .conftest import People, post
from .factories import create_person


def line(amount: str, period: LinePeriod, due_on: date | None = None) -> BudgetLine:
    return BudgetLine("l1", "A line", Decimal(amount), LineCategory.OTHER, period, (), due_on)


@pytest.fixture(autouse=True)
def first_of_march():
    """Every test here runs at noon on 1 March 2026 (signing in included)."""
    with time_machine.travel("2026-03-01 12:00 +0000", tick=False):
        yield


# --- pro rata, worked by hand ----------------------------------------------------------------


def test_a_monthly_line_in_a_plan_starting_mid_month_counts_the_days_of_each_month():
    start = date(2026, 3, 15)
    monthly = line("310.00", LinePeriod.MONTHLY)
    # 15 to 31 March is 17 of March's 31 days: 310 × 17 / 31 = 170.
    assert budget.planned_between(monthly, start, start, date(2026, 3, 31)) == Decimal(170)
    # Then 1 to 14 April is 14 of April's 30 days: 310 × 14 / 30 = 144.666…, so 314.67 shown.
    to_april = budget.planned_between(monthly, start, start, date(2026, 4, 14))
    assert budget.pounds(to_april) == "£314.67"
    # Nothing is planned before the plan starts, whatever period is asked about.
    assert budget.planned_between(monthly, start, date(2026, 3, 1), date(2026, 3, 14)) == 0


def test_a_full_plan_year_of_a_monthly_line_is_exactly_twelve_months():
    start = date(2026, 3, 15)
    first, last = budget.plan_year(start, start)
    assert (first, last) == (date(2026, 3, 15), date(2027, 3, 14))
    # 17/31 of March, April to February in full, and 14/31 of March: 12 months exactly.
    assert budget.planned_between(line("310", LinePeriod.MONTHLY), start, first, last) == 3720


def test_a_yearly_line_in_a_leap_year_is_spread_over_366_days():
    start = date(2024, 1, 1)
    yearly = line("3660.00", LinePeriod.YEARLY)
    assert budget.plan_year(start, date(2024, 6, 1)) == (date(2024, 1, 1), date(2024, 12, 31))
    # 2024 has 366 days, so January's 31 days are 3660 × 31 / 366 = 310.
    assert budget.planned_between(yearly, start, start, date(2024, 1, 31)) == Decimal(310)
    # Through 29 February: 60 days, 3660 × 60 / 366 = 600.
    assert budget.planned_between(yearly, start, start, date(2024, 2, 29)) == Decimal(600)
    # The next plan year has 365 days: its January is 3650 × 31 / 365 = 310 for £3,650.
    next_year = line("3650.00", LinePeriod.YEARLY)
    assert budget.planned_between(next_year, start, date(2025, 1, 1), date(2025, 1, 31)) == Decimal(
        310
    )


def test_a_plan_starting_on_29_february_has_its_anniversary_on_1_march():
    start = date(2024, 2, 29)
    assert budget.plan_year(start, date(2025, 2, 28)) == (date(2024, 2, 29), date(2025, 2, 28))
    assert budget.plan_year(start, date(2025, 3, 1)) == (date(2025, 3, 1), date(2026, 2, 28))
    # 29 Feb 2024 to 28 Feb 2025 is 366 days: the whole year comes to the yearly amount.
    yearly = line("366", LinePeriod.YEARLY)
    assert budget.planned_between(yearly, start, start, date(2025, 2, 28)) == 366


def test_a_weekly_line_across_a_month_end_counts_days_not_months():
    start = date(2026, 1, 28)
    weekly = line("70.00", LinePeriod.WEEKLY)
    # 28 to 31 January is 4 days: 70 × 4 / 7 = 40.
    assert budget.planned_between(weekly, start, start, date(2026, 1, 31)) == Decimal(40)
    # 28 January to 3 February is 7 days, one whole week: 70.
    assert budget.planned_between(weekly, start, start, date(2026, 2, 3)) == Decimal(70)
    # 1 to 3 February alone is 3 days: 30.
    assert budget.planned_between(weekly, start, date(2026, 2, 1), date(2026, 2, 3)) == 30


def test_a_one_off_line_counts_in_full_from_its_date():
    start = date(2026, 1, 1)
    one_off = line("500.00", LinePeriod.ONE_OFF, due_on=date(2026, 2, 10))
    assert budget.planned_between(one_off, start, start, date(2026, 2, 9)) == 0
    assert budget.planned_between(one_off, start, start, date(2026, 2, 10)) == 500
    assert budget.planned_between(one_off, start, start, date(2026, 12, 31)) == 500
    # Without a date, or dated before the plan, a one-off cost falls on the day it starts.
    undated = line("500.00", LinePeriod.ONE_OFF)
    assert budget.planned_between(undated, start, start, start) == 500
    early = line("500.00", LinePeriod.ONE_OFF, due_on=date(2025, 12, 1))
    assert budget.planned_between(early, start, start, start) == 500


def test_the_projection_runs_spending_on_at_its_rate_and_a_one_off_line_at_its_plan():
    plan = plans.Plan(
        start_date=date(2026, 1, 1),
        budget_lines=(
            BudgetLine("w", "Weekly", Decimal("70"), period=LinePeriod.WEEKLY),
            BudgetLine("o", "Chair", Decimal("500"), period=LinePeriod.ONE_OFF),
        ),
    )
    spends = [
        budget.Spend("s1", date(2026, 1, 10), Decimal("73.00"), "PA", "w", "", None, "u", ""),
    ]
    first, last = budget.plan_year(date(2026, 1, 1), date(2026, 1, 1))
    lines, whole, unplanned = budget.position_between(plan, spends, first, date(2026, 1, 31), last)
    weekly, chair = lines
    # 31 days of 365 have passed: 73 spent runs on to 73 × 365 / 31.
    assert weekly.position.projected_year == Decimal(73) * 365 / 31
    assert chair.position.projected_year == 500
    assert whole.spent_to_date == Decimal("73.00") and unplanned == 0


# --- money is Decimal, never float ------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "pounds"),
    [
        ("45.50", "45.50"),
        ("£45.5", "45.50"),
        ("1,250", "1250.00"),
        ("£1,000,000.00", "1000000.00"),
        (" 7 ", "7.00"),
    ],
)
def test_amounts_typed_in_pounds_and_pence_are_read_exactly(typed, pounds):
    assert budget.parse_money(typed) == Decimal(pounds)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "0",
        "0.00",
        "-5",
        "12.345",
        "1e3",
        "NaN",
        "Infinity",
        "12,34",
        "1,0000",
        "£",
        "five",
        "1000000.01",
        "12.50p",
        "£ 12.50 £",
        "١٢٣",
    ],
)
def test_other_forms_of_amount_are_refused_with_a_message(typed):
    with pytest.raises(budget.InvalidSpend) as caught:
        budget.parse_money(typed)
    assert str(caught.value).startswith(("Enter the amount", "The amount must be"))


@pytest.mark.parametrize("value", [12.5, 12, "12.50", None])
def test_a_float_or_anything_but_a_decimal_never_reaches_a_money_field(value):
    with pytest.raises(TypeError):
        budget.check_money(value)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        bad_line = dataclasses.replace(line("1", LinePeriod.WEEKLY), amount=value)
        budget.planned_between(bad_line, START, START, START)


def test_the_domain_refuses_a_float_amount_for_spending_and_for_budget_lines(app, people):
    with app.app_context():
        _plan_with_line(people)
        with pytest.raises(TypeError):
            budget.record_spending(
                people.record_id,
                on=clock.today(),
                amount=12.5,  # type: ignore[arg-type]
                payee="PA",
                line_id=plans.get_plan(people.record_id).budget_lines[0].id,
                author_id=people.owner_id,
            )
        with pytest.raises(TypeError):
            plans.add_budget_line(
                people.record_id,
                by=people.owner_id,
                what="Float",
                amount=9.99,  # type: ignore[arg-type]
            )


def test_a_plan_line_above_the_spending_limit_is_still_worked_out():
    # The plan's own form allows up to £10 million a line; spending is capped at £1 million.
    big = line("5000000.00", LinePeriod.YEARLY)
    assert budget.planned_between(big, START, START, date(2026, 12, 31)) == Decimal("5000000")


def test_amounts_are_shown_rounded_half_up_to_the_penny_and_in_words():
    assert budget.pounds(Decimal("2.345")) == "£2.35"
    assert budget.pounds(Decimal("1234.5")) == "£1,234.50"
    assert budget.pounds(Decimal("-0.001")) == "£0.00"
    assert budget.describe_variance(Decimal("2289"), Decimal("1877")) == "£412 underspent, 18%"
    assert budget.describe_variance(Decimal("600"), Decimal("630")) == "£30 overspent, 5%"
    assert budget.describe_variance(Decimal("600"), Decimal("600.40")) == "On budget"
    assert (
        budget.describe_variance(Decimal("1049.25"), Decimal("1050.00"))
        == "About on budget (£1 overspent)"
    )
    assert budget.describe_variance(Decimal("200"), Decimal("199")) == "£1 underspent, 1%"
    assert (
        budget.describe_variance(Decimal(0), Decimal("25")) == "£25 spent, with nothing planned yet"
    )


# --- the pages -----------------------------------------------------------------------------------


START = date(2026, 1, 1)


def _plan_with_line(people: People, *, start: date = START, **extra) -> str:
    plans.save_review_arrangements(
        people.record_id, by=people.owner_id, start_date=start, next_review=None, interval_months=6
    )
    plan = plans.add_budget_line(
        people.record_id,
        by=people.owner_id,
        what=extra.pop("what", "Personal assistant wages"),
        amount=Decimal(extra.pop("amount", "70.00")),
        category=extra.pop("category", LineCategory.PA_WAGES),
        period=extra.pop("period", LinePeriod.WEEKLY),
        **extra,
    )
    return plan.budget_lines[-1].id


@pytest.fixture
def line_id(app, people) -> str:
    with app.app_context():
        return _plan_with_line(people)


def budget_url(people: People, suffix: str = "") -> str:
    return f"/records/{people.record_id}/budget{suffix}"


def spend_form(line_id: str, **changes) -> dict:
    form = {
        "line": line_id,
        "on[day]": "10",
        "on[month]": "2",
        "on[year]": "2026",
        "amount": "£140.00",
        "payee": "Priya (PA)",
        "note": "Two weeks' wages",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def stored_spends(app, people: People) -> list[dict]:
    folder = Path(app.config["TRACKER_DATA_DIR"]) / "records" / people.record_id
    out = []
    for path in sorted(folder.glob(f"{budget.STREAM}-*.json")):
        out.extend(json.loads(path.read_text()).get("entries", {}).values())
    return out


def text(response) -> str:
    import html

    return html.unescape(response.get_data(as_text=True))


def test_the_person_records_a_spend_and_the_line_shows_it_against_the_plan(
    app, people, owner, line_id
):
    response = post(owner, budget_url(people, "/spending/new"), spend_form(line_id))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/budget/lines/{line_id}")
    page = text(owner.get(response.headers["Location"]))
    assert "£140.00 paid to Priya (PA) has been recorded." in page
    # 1 January to 1 March is 60 days: 70 × 60 / 7 = 600 planned, 140 spent, 460 under (77%).
    assert 'Planned to date</dt><dd class="nhsuk-summary-list__value">£600.00' in page
    assert "£460 underspent, 77%" in page
    assert '<svg class="app-budget-bar"' in page and "<title id=" in page
    # Stored as strings, never floats, with the date and the line.
    [stored] = stored_spends(app, people)
    assert stored["amount"] == "140.00" and isinstance(stored["amount"], str)
    assert stored["on"] == "2026-02-10" and stored["line_id"] == line_id
    assert stored["author_id"] == people.owner_id


def test_the_budget_page_shows_how_it_is_held_the_whole_budget_and_each_line(
    app, people, owner, line_id
):
    with app.app_context():
        plans.save_budget(
            people.record_id,
            by=people.owner_id,
            total=Decimal("10000"),
            held=plans.BudgetHeld.DIRECT_PAYMENT,
        )
    post(owner, budget_url(people, "/spending/new"), spend_form(line_id))
    page = text(owner.get(budget_url(people)))
    assert "Direct payment" in page
    assert "The whole budget, up to 1 March 2026" in page
    assert "Personal assistant wages" in page and "£460 underspent, 77%" in page
    assert "Priya (PA)" in page  # recent spending
    # Projected: 140 in 60 days runs on to 140 × 365 / 60 = 851.67 of 3,650 planned.
    assert "£851.67" in page and "£3,650.00" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": "12.345"}, "Enter the amount in pounds and pence, like 45.50 or £1,250"),
        ({"amount": "-5"}, "Enter the amount in pounds and pence"),
        ({"amount": "0"}, "The amount must be more than £0"),
        ({"amount": "2,000,000"}, "no more than £1,000,000"),
        ({"amount": ""}, "Enter the amount"),
        ({"on[day]": "31", "on[month]": "12", "on[year]": "2025"}, "on or after the plan started"),
        ({"on[day]": "2", "on[month]": "3", "on[year]": "2026"}, "today or in the past"),
        ({"on[day]": "30", "on[month]": "2"}, "must be a real date"),
        ({"payee": "  "}, "Enter who was paid"),
        ({"payee": "x" * 201}, "200 characters or fewer"),
        ({"line": ""}, "Select which part of the budget it was for"),
    ],
)
def test_bad_spending_is_refused_with_a_message_and_nothing_is_stored(
    app, people, owner, line_id, changes, message
):
    response = post(owner, budget_url(people, "/spending/new"), spend_form(line_id, **changes))
    assert response.status_code == 422
    page = text(response)
    assert "There is a problem" in page and message in page
    assert stored_spends(app, people) == []


def test_an_unknown_line_or_another_persons_line_answers_404_and_stores_nothing(
    app, people, owner, line_id, login_as
):
    other, theirs = create_person(app)
    with app.app_context():
        their_line = _plan_with_line(
            People(app, other.id, theirs.id, people.carer_id, people.coordinator_id)
        )
    for bad in ("nosuchline", their_line):
        today = clock.today()
        form = spend_form(bad, **{"on[day]": str(today.day), "on[month]": str(today.month)})
        form["on[year]"] = str(today.year)
        assert post(owner, budget_url(people, "/spending/new"), form).status_code == 404
        assert owner.get(budget_url(people, f"/lines/{bad}")).status_code == 404
        assert owner.get(budget_url(people, f"/lines/{bad}/edit")).status_code == 404
    assert stored_spends(app, people) == []
    # And nobody reaches the other person's budget through their own record id.
    assert owner.get(f"/records/{theirs.id}/budget").status_code == 404


def test_a_spend_cannot_be_recorded_before_the_plan_has_a_start_date(app, people, owner):
    with app.app_context():
        plans.add_budget_line(people.record_id, by=people.owner_id, what="PA", amount=Decimal(5))
        line_id = plans.get_plan(people.record_id).budget_lines[0].id
    today = clock.today()
    form = spend_form(line_id, **{"on[day]": str(today.day), "on[month]": str(today.month)}) | {
        "on[year]": str(today.year)
    }
    response = post(owner, budget_url(people, "/spending/new"), form)
    assert response.status_code == 422
    assert "Add the date the plan started before recording spending" in text(response)
    assert "does not say when it started" in text(owner.get(budget_url(people)))


# --- sharing and permissions ----------------------------------------------------------------------


def test_budget_is_hidden_from_carers_and_coordinators_by_default():
    assert Category.BUDGET not in DEFAULT_CATEGORIES[Role.CARER]
    assert Category.BUDGET not in DEFAULT_CATEGORIES[Role.COORDINATOR]
    assert Category.BUDGET in DEFAULT_CATEGORIES[Role.OWNER]


def test_a_carer_cannot_see_the_budget_or_record_spending_by_default(
    people, carer, coordinator, line_id
):
    for client in (carer, coordinator):
        assert client.get(budget_url(people)).status_code == 404
        assert client.get(budget_url(people, "/statement")).status_code == 404
        assert (
            post(client, budget_url(people, "/spending/new"), spend_form(line_id)).status_code
            == 404
        )
        assert f'/records/{people.record_id}/budget"' not in text(
            client.get(f"/records/{people.record_id}/plan")
        )


def _share(app, people: People, user_id: str, *extra: Category) -> None:
    with app.app_context():
        m = sharing.membership_for(user_id, people.record_id)
        sharing.set_categories(people.record_id, m.id, m.categories | set(extra))


def test_a_carer_the_person_shares_the_budget_with_can_record_spending(
    app, people, carer, owner, line_id
):
    _share(app, people, people.carer_id, Category.BUDGET)
    response = post(carer, budget_url(people, "/spending/new"), spend_form(line_id))
    assert response.status_code == 303
    [stored] = stored_spends(app, people)
    assert stored["author_id"] == people.carer_id
    assert "Budget</a>" in text(carer.get(f"/records/{people.record_id}/plan"))
    # The carer may remove what they recorded; the person may remove anything.
    assert post(owner, budget_url(people, f"/spending/{stored['id']}/remove")).status_code == 303
    assert stored_spends(app, people) == []


def test_a_carer_cannot_remove_spending_the_person_recorded(app, people, carer, owner, line_id):
    _share(app, people, people.carer_id, Category.BUDGET)
    post(owner, budget_url(people, "/spending/new"), spend_form(line_id))
    [stored] = stored_spends(app, people)
    assert post(carer, budget_url(people, f"/spending/{stored['id']}/remove")).status_code == 404
    assert len(stored_spends(app, people)) == 1


def test_a_coordinator_sees_spending_when_shared_but_never_records_it(
    app, people, owner, coordinator, line_id
):
    post(owner, budget_url(people, "/spending/new"), spend_form(line_id))
    _share(app, people, people.coordinator_id, Category.BUDGET)
    page = text(coordinator.get(budget_url(people)))
    assert "Priya (PA)" in page and "Record spending" not in page
    response = post(coordinator, budget_url(people, "/spending/new"), spend_form(line_id))
    assert response.status_code == 404
    assert len(stored_spends(app, people)) == 1


def _word_line(people: People, line_id: str, what: str, goal_ids: tuple[str, ...] = ()) -> None:
    """Give the weekly £70 personal assistant line its own words (plan text)."""
    plans.update_budget_line(
        people.record_id,
        line_id,
        by="x",
        what=what,
        amount=Decimal("70"),
        category=LineCategory.PA_WAGES,
        period=LinePeriod.WEEKLY,
        goal_ids=goal_ids,
    )


def test_a_member_shown_the_budget_but_not_the_plan_sees_lines_by_category_only(
    app, people, owner, carer, line_id
):
    with app.app_context():
        goal = goals.add_goal(people.record_id, outcome="Walk to the shops", by="x")
        _word_line(people, line_id, "Wages for Priya", goal_ids=(goal.id,))
        m = sharing.membership_for(people.carer_id, people.record_id)
        sharing.set_categories(people.record_id, m.id, frozenset({Category.BUDGET}))
    post(carer, budget_url(people, "/spending/new"), spend_form(line_id))
    pages = [
        text(carer.get(budget_url(people, suffix)))
        for suffix in ("", f"/lines/{line_id}", "/statement", "/statement/download")
    ]
    for page in pages:
        assert "Priya (PA)" in page  # the spending is budget: shared
        assert "Wages for Priya" not in page and "Walk to the shops" not in page  # plan text
    assert "Personal assistant (PA) wages" in pages[0]
    assert "Wages for Priya" in text(owner.get(budget_url(people, f"/lines/{line_id}")))


def test_the_sharing_page_offers_budget_and_spending_as_a_choice(people, owner, carer):
    page = text(owner.get(f"/records/{people.record_id}/sharing"))
    assert "Budget and spending" in page


# --- budget lines ---------------------------------------------------------------------


def test_the_person_sets_a_lines_category_period_and_outcomes(app, people, owner, line_id):
    with app.app_context():
        goal = goals.add_goal(people.record_id, outcome="Get to the walking group", by="x")
    form = {
        "what": "Taxis to the walking group",
        "category": "travel",
        "amount": "£25",
        "period": "monthly",
        "goal_ids": [goal.id],
    }
    response = post(owner, budget_url(people, f"/lines/{line_id}/edit"), form)
    assert response.status_code == 303
    with app.app_context():
        [saved] = plans.get_plan(people.record_id).budget_lines
    assert (saved.what, saved.amount, saved.category, saved.period, saved.goal_ids) == (
        "Taxis to the walking group",
        Decimal("25.00"),
        LineCategory.TRAVEL,
        LinePeriod.MONTHLY,
        (goal.id,),
    )
    page = text(owner.get(budget_url(people, f"/lines/{line_id}")))
    assert "Get to the walking group" in page and "£25.00 each month" in page


def test_a_one_off_line_needs_its_date_and_outcomes_must_be_the_plans(app, people, owner, line_id):
    base = {"what": "Riser chair", "category": "equipment", "amount": "600", "period": "one_off"}
    response = post(owner, budget_url(people, f"/lines/{line_id}/edit"), base)
    assert response.status_code == 422
    assert "Enter the date the one-off cost is due" in text(response)
    response = post(
        owner,
        budget_url(people, f"/lines/{line_id}/edit"),
        base | {"due_on[day]": "1", "due_on[month]": "2", "due_on[year]": "2026", "goal_ids": "x"},
    )
    assert response.status_code == 422 and "Select outcomes from the plan" in text(response)
    with app.app_context():
        assert plans.get_plan(people.record_id).budget_lines[0].period is LinePeriod.WEEKLY


def test_lines_made_before_periods_existed_read_as_yearly_and_other(app, people):
    with app.app_context():
        plan = plans.add_budget_line(
            people.record_id, by=people.owner_id, what="Old", amount=Decimal("100")
        )
    [old] = plan.budget_lines
    assert (old.category, old.period, old.goal_ids, old.due_on) == (
        LineCategory.OTHER,
        LinePeriod.YEARLY,
        (),
        None,
    )


# --- statements -----------------------------------------------------------------------


def _spend(app, people: People, line_id: str, on: date, amount: str, payee: str = "PA") -> None:
    with app.app_context():
        budget.record_spending(
            people.record_id,
            on=on,
            amount=Decimal(amount),
            payee=payee,
            line_id=line_id,
            author_id=people.owner_id,
        )


def test_the_csv_statement_parses_back_to_the_same_totals(app, people, owner, line_id):
    amounts = ["70.00", "0.01", "1234.56", "99.99", "70.10"]
    for i, amount in enumerate(amounts):
        _spend(app, people, line_id, date(2026, 1, 5) + timedelta(days=7 * i), amount)
    _spend(app, people, line_id, date(2026, 3, 1), "500.00", payee='=HYPERLINK("x")')
    query = (
        "?first[day]=1&first[month]=1&first[year]=2026&last[day]=28&last[month]=2&last[year]=2026"
    )
    page = text(owner.get(budget_url(people, "/statement" + query)))
    assert "£1,474.66 in 5 payments" in page
    response = owner.get(budget_url(people, "/statement/download" + query))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    *spends, total = rows
    assert total["Budget line"] == "Total" and len(spends) == len(amounts)
    assert sum(Decimal(r["Amount (£)"]) for r in spends) == Decimal(total["Amount (£)"])
    assert Decimal(total["Amount (£)"]) == sum(Decimal(a) for a in amounts)
    # The whole plan year so far has the sixth spend too; a formula-like payee stays text.
    whole_year = owner.get(budget_url(people, "/statement/download")).get_data(as_text=True)
    assert "'=HYPERLINK" in whole_year and "1974.66" in whole_year


def test_a_statement_with_a_backwards_period_is_refused_with_a_message(people, owner, line_id):
    query = (
        "?first[day]=2&first[month]=2&first[year]=2026&last[day]=1&last[month]=2&last[year]=2026"
    )
    response = owner.get(budget_url(people, "/statement" + query))
    assert response.status_code == 400
    assert "The last day must be the same as or after the first day" in text(response)
    assert owner.get(budget_url(people, "/statement/download" + query)).status_code == 400


def test_every_stored_money_field_is_a_string_with_two_places(app, people, line_id):
    _spend(app, people, line_id, date(2026, 2, 2), "12.5")
    for doc in stored_spends(app, people):
        assert isinstance(doc["amount"], str)
        assert re.fullmatch(r"\d+\.\d{2}", doc["amount"]) and doc["amount"] == "12.50"


# --- receipts on the spending form -----------------------------------------------------------


def _jpeg_with_location() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    exif[0x8825] = gps
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def receipt_files(app, people: People) -> list[Path]:
    """The receipt photos kept for the record (not the lock files beside them)."""
    folder = Path(app.config["TRACKER_DATA_DIR"]) / "records" / people.record_id / "receipts"
    return sorted(p for p in folder.glob("*") if p.suffix in {".jpg", ".png"})


def send_with_file(client, path: str, data: dict, content: bytes, name: str = "receipt.jpg"):
    from .conftest import csrf_token

    body = dict(data)
    body["csrf_token"] = csrf_token(client)
    body["receipt"] = (io.BytesIO(content), name)
    return client.post(path, data=body, content_type="multipart/form-data")


def test_a_receipt_photo_is_kept_with_the_spend_without_its_location(app, people, owner, line_id):
    from PIL import Image

    photo = _jpeg_with_location()
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)  # the test photo has GPS
    response = send_with_file(
        owner, budget_url(people, "/spending/new"), spend_form(line_id), photo
    )
    assert response.status_code == 303
    [stored] = stored_spends(app, people)
    [kept] = receipt_files(app, people)
    assert stored["receipt_id"] and kept.stem == stored["receipt_id"]
    assert not Image.open(kept).getexif().get_ifd(0x8825)
    page = text(owner.get(budget_url(people, f"/lines/{line_id}")))
    assert "See the receipt" in page
    # Removing the spending record removes its receipt too.
    assert post(owner, budget_url(people, f"/spending/{stored['id']}/remove")).status_code == 303
    assert receipt_files(app, people) == []


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"<html><script>alert(1)</script></html>", "receipt.jpg"),
        (b"GIF89a" + b"\0" * 100, "receipt.png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * (5 * 1024 * 1024), "receipt.jpg"),
    ],
    ids=["html-named-jpg", "gif-named-png", "over-5-mb"],
)
def test_a_disguised_or_oversized_receipt_is_refused_and_nothing_is_stored(
    app, people, owner, line_id, content, name
):
    response = send_with_file(
        owner, budget_url(people, "/spending/new"), spend_form(line_id), content, name
    )
    assert response.status_code == 422
    assert "There is a problem" in text(response) and "The receipt must be" in text(response)
    assert stored_spends(app, people) == [] and receipt_files(app, people) == []


def test_a_receipt_is_not_kept_when_the_rest_of_the_form_is_wrong(app, people, owner, line_id):
    form = spend_form(line_id, amount="lots")
    response = send_with_file(
        owner, budget_url(people, "/spending/new"), form, _jpeg_with_location()
    )
    assert response.status_code == 422
    assert stored_spends(app, people) == [] and receipt_files(app, people) == []


# --- money in the review summary ---------------------------------------------------------------


def _money_statements(app, people: People, today: date = date(2026, 3, 1)) -> dict:
    from tracker import summaries

    with app.app_context():
        summary = summaries.compile_summary(people.record_id, today=today, start=START)
    return {s.key: s for s in summary.statements if s.category is Category.BUDGET}


def _missed_support(app, people: People, day: date) -> str:
    from datetime import datetime, time

    from tracker import logs

    with app.app_context():
        return logs.record_support(
            people.record_id,
            author_id=people.carer_id,
            kind=logs.SupportKind.MISSED,
            what="Morning visit",
            reason=logs.MissedReason.PA_ON_LEAVE,
            occurred_at=datetime.combine(day, time(9), tzinfo=clock.LONDON),
        )


def test_no_money_statement_appears_until_spending_is_recorded(app, people, line_id):
    _missed_support(app, people, date(2026, 2, 1))
    # Nothing is recorded at all: the line is "100% underspent" only for want of records.
    assert _money_statements(app, people) == {}


def test_a_line_under_or_overspent_by_more_than_20_percent_is_not_working(app, people, line_id):
    with app.app_context():
        travel_id = _plan_with_line(
            people,
            what="Taxis",
            amount="100",
            category=LineCategory.TRAVEL,
            period=LinePeriod.MONTHLY,
        )
    # 1 January to 1 March: weekly PA 70 × 60 / 7 = 600 planned; monthly taxis 200 + 100/31.
    _spend(app, people, line_id, date(2026, 2, 1), "300.00")  # 300 under of 600: 50%
    _spend(app, people, travel_id, date(2026, 2, 1), "290.00")  # 203.23 planned: 43% over
    found = _money_statements(app, people)
    under, over = found[f"budget-{line_id}"], found[f"budget-{travel_id}"]
    assert under.text == (
        "Budget, Personal assistant wages: £300 underspent, 50% "
        "(£600 planned and £300 spent since 1 January 2026)."
    )
    assert "£87 overspent, 43%" in over.text and over.line_id == travel_id
    assert under.section.value == "not_working"
    # No missed support was logged, so no "support not delivered" statement.
    assert f"budget-pa-{line_id}" not in found


def test_a_line_within_20_percent_with_spending_is_working(app, people, line_id):
    with app.app_context():
        quiet_id = _plan_with_line(people, what="Taxis", amount="10", period=LinePeriod.MONTHLY)
    _spend(app, people, line_id, date(2026, 2, 1), "481.00")  # 119 under of 600: 19.8%
    found = _money_statements(app, people)
    assert found[f"budget-ok-{line_id}"].text == (
        "Budget, Personal assistant wages: within 20% of the plan "
        "(£600 planned and £481 spent since 1 January 2026)."
    )
    assert found[f"budget-ok-{line_id}"].section.value == "working"
    assert f"budget-{line_id}" not in found
    # Nothing spent on the taxis line: no "on track", and (with other spending recorded)
    # it is judged underspent like any other line.
    assert f"budget-ok-{quiet_id}" not in found and f"budget-{quiet_id}" in found


def test_an_underspent_pa_line_beside_missed_support_suggests_support_not_delivered(
    app, people, line_id
):
    _spend(app, people, line_id, date(2026, 2, 1), "300.00")
    missed = [_missed_support(app, people, date(2026, 2, d)) for d in (3, 10)]
    _missed_support(app, people, date(2025, 12, 20))  # before the period: not counted
    statement = _money_statements(app, people)[f"budget-pa-{line_id}"]
    assert statement.text == (
        "Personal assistant wages is £300 underspent (50%) while planned support was missed "
        "twice in the same period: some support may not have been given."
    )
    assert set(statement.evidence) == set(missed) and statement.line_id == line_id


def test_an_overspent_pa_line_beside_missed_support_suggests_nothing_more(app, people, line_id):
    _spend(app, people, line_id, date(2026, 2, 1), "900.00")
    _missed_support(app, people, date(2026, 2, 3))
    found = _money_statements(app, people)
    assert f"budget-{line_id}" in found and f"budget-pa-{line_id}" not in found


def test_money_is_not_judged_in_the_first_4_weeks(app, people):
    with app.app_context():
        line_id = _plan_with_line(people, start=date(2026, 2, 10))
    _spend(app, people, line_id, date(2026, 2, 11), "1.00")
    _missed_support(app, people, date(2026, 2, 12))
    assert _money_statements(app, people) == {}  # 20 days so far
    assert _money_statements(app, people, today=date(2026, 3, 9))  # 28 days


def test_a_money_statement_links_to_its_figures_on_the_persons_summary(app, people, owner, line_id):
    _spend(app, people, line_id, date(2026, 2, 1), "300.00")
    page = owner.get(f"/records/{people.record_id}/prepare").get_data(as_text=True)
    assert "£300 underspent, 50%" in page
    assert (
        f'href="/records/{people.record_id}/budget/lines/{line_id}">See the budget figures' in page
    )


# --- the monthly reminder ---------------------------------------------------------------------


def _spending_reminders(app, people: People, account_id: str, now) -> list:
    from tracker import reminders

    with app.app_context():
        found = reminders.scheduled_for(account_id, now)
    return [r for r in found if r.key.startswith("spending:")]


def test_the_monthly_spending_reminder_is_off_until_the_person_turns_it_on(
    app, people, owner, carer, line_id
):
    from datetime import UTC, datetime

    month_end = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
    assert _spending_reminders(app, people, people.owner_id, month_end) == []
    assert "Turn on the monthly reminder" in text(owner.get(budget_url(people)))
    response = post(owner, budget_url(people, "/reminder"), {"on": "1"})
    assert response.status_code == 303
    [reminder] = _spending_reminders(app, people, people.owner_id, month_end)
    assert reminder.key == f"spending:{people.record_id}:2026-03"
    assert reminder.url == f"/records/{people.record_id}/budget/spending/new"
    # 9am in London on 31 March 2026 is 8am UTC (summer time began on the 29th).
    assert reminder.due_at.startswith("2026-03-31T08:00")
    assert reminder.details == "Record this month's spending"
    # Not on other days, and never to the carer, who cannot turn it on either.
    assert (
        _spending_reminders(app, people, people.owner_id, datetime(2026, 3, 20, tzinfo=UTC)) == []
    )
    assert _spending_reminders(app, people, people.carer_id, month_end) == []
    _share(app, people, people.carer_id, Category.BUDGET)
    assert post(carer, budget_url(people, "/reminder"), {"on": "0"}).status_code == 404
    assert post(owner, budget_url(people, "/reminder"), {"on": "0"}).status_code == 303
    assert _spending_reminders(app, people, people.owner_id, month_end) == []


def _upload_bigger_than_the_request_limit() -> bytes:
    from tracker.views.budget import RECEIPT_REQUEST_LIMIT

    return b"\xff\xd8\xff\xe0" + b"\0" * (RECEIPT_REQUEST_LIMIT + 1024 * 1024)  # a 7 MB photo


def test_a_photo_over_the_request_limit_shows_the_form_again_and_stores_nothing(
    app, people, owner, line_id
):
    response = send_with_file(
        owner,
        budget_url(people, "/spending/new"),
        spend_form(line_id),
        _upload_bigger_than_the_request_limit(),
    )
    page = text(response)
    assert response.status_code == 413
    assert "There is a problem" in page and "The receipt must be smaller than 5 MB" in page
    assert 'href="#receipt"' in page and "Nothing has been saved" in page
    assert "<h1>Record spending</h1>" in page and "Priya (PA)" not in page  # a blank form
    assert stored_spends(app, people) == [] and receipt_files(app, people) == []
    # The blank form still carries a working CSRF token: sending it again saves the spend.
    assert post(owner, budget_url(people, "/spending/new"), spend_form(line_id)).status_code == 303


def test_a_photo_over_the_request_limit_to_another_persons_record_answers_404(
    app, people, carer, line_id
):
    # The carer is not shown the budget: the large request tells them nothing more.
    response = send_with_file(
        carer,
        budget_url(people, "/spending/new"),
        spend_form(line_id),
        _upload_bigger_than_the_request_limit(),
    )
    assert response.status_code == 404 and "Record spending" not in text(response)
    assert stored_spends(app, people) == [] and receipt_files(app, people) == []


def test_other_budget_forms_keep_the_usual_limit_and_error_page(app, people, owner, line_id):
    response = owner.post(
        budget_url(people, f"/lines/{line_id}/edit"),
        data={"what": "x" * (2 * 1024 * 1024)},
    )
    assert response.status_code == 413 and "That is too large to send" in text(response)


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_receipt_is_removed_whenever_the_spend_fails_to_save(
    app, people, owner, line_id, monkeypatch, failure
):
    def fail(*args, **kwargs):
        raise failure

    monkeypatch.setattr(budget, "record_spending", fail)
    try:
        response = send_with_file(
            owner, budget_url(people, "/spending/new"), spend_form(line_id), _jpeg_with_location()
        )
    except type(failure):
        pass  # a KeyboardInterrupt is not an error the app answers
    else:
        assert response.status_code == 500
    assert stored_spends(app, people) == [] and receipt_files(app, people) == []


def test_a_coordinator_shown_the_budget_but_not_the_plan_sees_money_statements_by_category_only(
    app, people, owner, coordinator, line_id
):
    from tracker import summaries

    with app.app_context():
        _word_line(people, line_id, "Wages for Priya")
    _spend(app, people, line_id, date(2026, 2, 1), "300.00")
    _missed_support(app, people, date(2026, 2, 3))
    with app.app_context():
        summaries.share(people.record_id, by=people.owner_id)
        m = sharing.membership_for(people.coordinator_id, people.record_id)
        sharing.set_categories(people.record_id, m.id, frozenset({Category.BUDGET}))
    summary_url = f"/records/{people.record_id}/summary"
    page = text(coordinator.get(summary_url))
    assert "Budget, Personal assistant (PA) wages: £300 underspent, 50%" in page
    assert "Personal assistant (PA) wages is £300 underspent (50%)" in page
    assert "Wages for Priya" not in page  # the line's own words are plan text
    evidence = text(coordinator.get(f"{summary_url}/evidence/budget-{line_id}"))
    assert "Personal assistant (PA) wages" in evidence and "Wages for Priya" not in evidence
    # Shown the plan too, the coordinator reads the line's own words, as the person does.
    with app.app_context():
        sharing.set_categories(people.record_id, m.id, frozenset({Category.BUDGET, Category.PLAN}))
    assert "Budget, Wages for Priya: £300 underspent, 50%" in text(coordinator.get(summary_url))


def test_money_statements_shared_before_category_wording_are_left_out_without_the_plan():
    from tracker import summaries

    old = summaries.Statement(
        "budget-l1",
        summaries.Section.NOT_WORKING,
        Category.BUDGET,
        "Budget, Taxis: …",
        line_id="l1",
    )
    kept = summaries.Statement.from_doc(
        {k: v for k, v in old.to_doc().items() if k != "budget_only_text"}
    )
    shared = summaries.Shared("2026-03-01T09:00:00+00:00", START, START, (kept,))
    assert shared.visible_to(frozenset({Category.BUDGET})) == []
    assert shared.visible_to(frozenset({Category.BUDGET, Category.PLAN})) == [kept]
