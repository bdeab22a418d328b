"""Arbitrary input at the budget forms: spending, a budget line's details, a statement period.

Whatever arrives, the answer is never a server error; only real pounds and pence,
on a day inside the plan's period, on one of the plan's lines, is ever stored; and
every stored amount is a string with two decimal places, never a float.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from tracker import budget, clock, plans
from tracker.plans import LineCategory, LinePeriod
from tracker.records import log_scope, record_scope
from tracker.store import Store, get_store

from .conftest import People, csrf_token
from .factories import create_goal, create_plan
from .test_forms_property import EXAMPLES, _answered, choice, date_near, near, text_value

amount = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "0.01",
            "45.50",
            "£45.5",
            "1,250",
            "£1,000,000",
            "1000000.01",
            "12,34",
            "1,0000",
            "-5",
            "1.999",
            "NaN",
            "1e3",
            "١٢",
            "£ 7",
        ]
    ),
    st.decimals(min_value=-100, max_value=2 * 10**6, places=3).map(str),
    text_value,
)


real_amount = st.decimals(min_value=Decimal("0.01"), max_value=budget.MAX_AMOUNT, places=2)
# Mostly real money (as typed, or with £ and commas), sometimes anything.
plausible_amount = st.one_of(real_amount.map(str), real_amount.map(lambda d: f"£{d:,.2f}"), amount)


def date_in(name: str, first: date, last: date) -> st.SearchStrategy[dict[str, str]]:
    """A date's boxes: mostly a day from ``first`` to ``last``, sometimes anything near."""
    inside = st.dates(first, last).map(
        lambda d: (
            {f"{name}[day]": str(d.day), f"{name}[month]": str(d.month)}
            | {f"{name}[year]": str(d.year)}
        )
    )
    return st.one_of(inside, inside, date_near(name))


@dataclass
class World:
    app: Flask
    record_id: str
    line_id: str
    goal_id: str
    start: date
    owner: FlaskClient
    token: str

    def post(self, path: str, data: dict):
        return self.owner.post(
            f"/records/{self.record_id}/budget{path}", data={**data, "csrf_token": self.token}
        )


@pytest.fixture
def world(app: Flask, people: People, login_as) -> World:
    """The conftest owner's record with a plan begun 200 days ago, one weekly line and a goal.

    Hypothesis runs every example of a test against this one record, so whatever one
    example stores, the next meets."""
    start = clock.today() - timedelta(days=200)
    goal = create_goal(app, people.record_id, by=people.owner_id)
    create_plan(app, people.record_id, by=people.owner_id, start_date=start)
    with app.app_context():
        plan = plans.add_budget_line(
            people.record_id,
            by=people.owner_id,
            what="PA wages",
            amount=Decimal("70"),
            category=LineCategory.PA_WAGES,
            period=LinePeriod.WEEKLY,
        )
    owner = login_as("owner@example.com")
    return World(
        app, people.record_id, plan.budget_lines[0].id, goal.id, start, owner, csrf_token(owner)
    )


def _check_stored(world: World) -> None:
    with world.app.app_context():
        plan = get_store().read(record_scope(world.record_id)).get(plans.TABLE, plans.PLAN_ID)
        line_ids = {line["id"] for line in plan["budget"]["lines"]}
        for line in plan["budget"]["lines"]:
            assert isinstance(line["amount"], str)
            assert 0 < Decimal(line["amount"]) <= budget.MAX_AMOUNT
            assert line.get("category", "other") in set(LineCategory)
            assert line.get("period", "yearly") in set(LinePeriod)
            assert set(line.get("goal_ids", [])) <= {world.goal_id}
            assert 0 < len(line["what"]) <= 200
        for doc in get_store().list_entries(log_scope(world.record_id), budget.STREAM):
            assert isinstance(doc["amount"], str) and re.fullmatch(r"\d{1,7}\.\d{2}", doc["amount"])
            assert 0 < Decimal(doc["amount"]) <= budget.MAX_AMOUNT
            assert world.start <= date.fromisoformat(doc["on"]) <= clock.today()
            assert doc["line_id"] in line_ids
            assert (
                0 < len(doc["payee"]) <= budget.MAX_PAYEE and doc["payee"] == doc["payee"].strip()
            )
            assert len(doc["note"]) <= budget.MAX_NOTE
    assert Store(world.app.config["TRACKER_DATA_DIR"]).check_all() == []


def _line_choice(world_line: str) -> st.SearchStrategy[str]:
    return st.one_of(st.just(world_line), choice("zz0unknown"))


@EXAMPLES
@given(data=st.data())
def test_any_input_to_the_spending_form_is_answered_and_only_real_spending_is_stored(world, data):
    values = data.draw(
        near(
            date_in("on", world.start, clock.today()),
            line=_line_choice(world.line_id),
            amount=plausible_amount,
            payee=st.one_of(st.just("Priya"), st.text(max_size=210)),
            note=st.text(max_size=1010),
        )
    )
    _answered(world.post("/spending/new", values))
    _check_stored(world)


@EXAMPLES
@given(data=st.data())
def test_any_input_to_a_budget_lines_details_is_answered_and_only_real_lines_are_stored(
    world, data
):
    values = data.draw(
        near(
            date_in("due_on", world.start, clock.today()),
            what=st.one_of(st.text(max_size=210), st.just("PA wages")),
            category=choice(*[c.value for c in LineCategory]),
            amount=plausible_amount,
            period=choice(*[p.value for p in LinePeriod]),
            goal_ids=st.one_of(st.just(world.goal_id), text_value),
        )
    )
    _answered(world.post(f"/lines/{world.line_id}/edit", values))
    _check_stored(world)


@EXAMPLES
@given(data=st.data())
def test_any_statement_period_is_answered_and_its_csv_adds_up(world, data):
    boxes = st.tuples(
        date_near("first"),
        date_near("last"),
        st.fixed_dictionaries({}, optional={"first[day]": text_value, "last[year]": text_value}),
    )
    values = data.draw(boxes.map(lambda parts: {k: v for part in parts for k, v in part.items()}))
    for path in ("/statement", "/statement/download"):
        response = world.owner.get(f"/records/{world.record_id}/budget{path}", query_string=values)
        assert response.status_code in {200, 400}, response.status_code
        if path.endswith("download") and response.status_code == 200:
            _, *rows, total = csv.reader(io.StringIO(response.get_data(as_text=True)))
            assert sum((Decimal(r[4]) for r in rows), Decimal(0)) == Decimal(total[4])
