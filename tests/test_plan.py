"""The approved plan: its sections, contacts, budget, reviews and sign-off, and its history.

Everything here goes through the forms, as the person or the coordinator would:
a plain POST, a 303 redirect, and the change visible on the next page.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tracker import clock, plans
from tracker.plans import GROUPS, MAX_TEXT
from tracker.records import record_scope
from tracker.store import get_store

from .conftest import Clock, People, date_parts, post, stored, text_of
from .conftest import assert_problem as assert_form_problem

# --- helpers -------------------------------------------------------------------------


def plan_of(people: People) -> plans.Plan:
    with people.app.app_context():
        return plans.get_plan(people.record_id)


def versions_kept(people: People) -> list[dict]:
    with people.app.app_context():
        return get_store().read(record_scope(people.record_id)).all(plans.VERSIONS)


def plan_url(people: People, suffix: str = "") -> str:
    return f"/records/{people.record_id}/plan{suffix}"


def assert_problem(response, message: str) -> None:
    """A 422 with the NHS error summary (the component itself) and the field's message in it."""
    assert 'class="nhsuk-error-summary' in text_of(response)
    assert_form_problem(response, message)


# --- sections ------------------------------------------------------------------------


@pytest.mark.parametrize("group", list(GROUPS))
def test_each_plan_heading_is_saved_through_its_form_and_shown_on_the_plan(owner, people, group):
    title, sections = GROUPS[group]
    page = owner.get(plan_url(people, f"/{group}"))
    assert page.status_code == 200
    assert title in text_of(page)
    values = {s.key: f"Words for {s.key}, in my own voice" for s in sections}

    response = post(owner, plan_url(people, f"/{group}"), values)

    assert response.status_code == 303
    assert response.headers["Location"].endswith(plan_url(people))
    shown = text_of(owner.get(plan_url(people)))
    for text in values.values():
        assert text in shown
    assert plan_of(people).sections == values


def test_every_section_is_optional_and_an_empty_box_leaves_it_out(owner, people):
    response = post(
        owner,
        plan_url(people, "/about-me"),
        {"what_matters": "My garden", "appreciate": "", "how_to_support": "   "},
    )
    assert response.status_code == 303
    assert plan_of(people).sections == {"what_matters": "My garden"}
    shown = text_of(owner.get(plan_url(people)))
    assert "My garden" in shown
    # The other headings say so, plainly, rather than failing.
    assert shown.count("Not filled in.") >= len(GROUPS) - 1


def test_clearing_a_section_removes_it_and_keeps_the_old_words_in_the_history(owner, people):
    post(owner, plan_url(people, "/health"), {"health_summary": "COPD, inhalers"})
    post(owner, plan_url(people, "/health"), {"health_summary": ""})
    assert "health_summary" not in plan_of(people).sections
    (kept,) = versions_kept(people)
    assert kept["sections"]["health_summary"] == "COPD, inhalers"


@pytest.mark.parametrize(
    "suffix",
    ["/about-me", "/review-arrangements", "/sign-off", "/budget"],
)
def test_an_empty_form_before_anything_is_recorded_records_nothing(owner, people, suffix):
    before = stored(people.app, people.record_id)
    data = {"interval": "12"} if suffix == "/review-arrangements" else {}
    response = post(owner, plan_url(people, suffix), data)
    assert response.status_code == 303
    assert plan_of(people).version == 0
    assert stored(people.app, people.record_id) == before
    assert "The plan has not been recorded yet." in text_of(owner.get(plan_url(people, "/history")))


def test_a_section_form_shows_what_is_already_written(owner, people):
    post(owner, plan_url(people, "/contingency"), {"warning_signs": "Breathless for 2 days"})
    page = text_of(owner.get(plan_url(people, "/contingency")))
    assert "Breathless for 2 days" in page


def test_an_unknown_plan_heading_is_not_found(owner, people):
    assert owner.get(plan_url(people, "/nonsense")).status_code == 404
    assert post(owner, plan_url(people, "/nonsense"), {"x": "y"}).status_code == 404


# --- contacts, budget, reviews, sign-off ----------------------------------------------


def test_a_contact_is_added_with_a_role_and_a_tap_to_call_number(owner, people):
    response = post(
        owner,
        plan_url(people, "/contacts"),
        {
            "name": "Jo Brown",
            "role": "coordinator",
            "detail": "Care coordinator",
            "phone": "01632 960 004",
            "email": "jo@example.com",
        },
    )
    assert response.status_code == 303
    (contact,) = plan_of(people).contacts
    assert (contact.name, contact.role, contact.phone, contact.email) == (
        "Jo Brown",
        plans.ContactRole.COORDINATOR,
        "01632 960 004",
        "jo@example.com",
    )
    page = text_of(owner.get(plan_url(people)))
    assert "Jo Brown has been added to your contacts." in page
    assert 'href="tel:01632960004"' in page
    assert 'href="mailto:jo@example.com"' in page
    assert "care coordinator" in page


@pytest.mark.parametrize("role", list(plans.ContactRole))
def test_a_contact_can_have_each_role(owner, people, role):
    response = post(owner, plan_url(people, "/contacts"), {"name": "Someone", "role": role.value})
    assert response.status_code == 303
    assert plan_of(people).contacts[0].role is role
    assert role.label.lower() in text_of(owner.get(plan_url(people)))


def test_a_contact_with_neither_phone_nor_email_is_allowed(owner, people):
    response = post(owner, plan_url(people, "/contacts"), {"name": "Maureen", "role": "other"})
    assert response.status_code == 303
    assert plan_of(people).contacts[0].phone == ""


def test_a_contact_is_removed(owner, people):
    post(owner, plan_url(people, "/contacts"), {"name": "Old GP", "role": "professional"})
    contact = plan_of(people).contacts[0]
    response = post(owner, plan_url(people, f"/contacts/{contact.id}/remove"))
    assert response.status_code == 303
    assert plan_of(people).contacts == ()
    assert "The contact has been removed." in text_of(owner.get(plan_url(people)))


def test_removing_a_contact_that_does_not_exist_is_not_found(owner, people):
    assert post(owner, plan_url(people, "/contacts/nope1234/remove")).status_code == 404


def test_the_budget_total_how_it_is_held_and_its_lines_are_saved(owner, people):
    response = post(
        owner, plan_url(people, "/budget"), {"total": "£18,500.00", "held": "direct_payment"}
    )
    assert response.status_code == 303
    response = post(
        owner,
        plan_url(people, "/budget/lines"),
        {"what": "Personal assistant wages", "amount": "12480.5"},
    )
    assert response.status_code == 303
    plan = plan_of(people)
    assert plan.budget_total == Decimal("18500.00")
    assert plan.budget_held is plans.BudgetHeld.DIRECT_PAYMENT
    assert [(line.what, line.amount) for line in plan.budget_lines] == [
        ("Personal assistant wages", Decimal("12480.5"))
    ]
    page = text_of(owner.get(plan_url(people)))
    assert "£18,500.00" in page
    assert "Direct payment" in page
    assert "£12,480.50" in page


@pytest.mark.parametrize("held", list(plans.BudgetHeld))
def test_the_budget_can_be_held_each_way(owner, people, held):
    assert post(owner, plan_url(people, "/budget"), {"held": held.value}).status_code == 303
    assert plan_of(people).budget_held is held
    assert held.label in text_of(owner.get(plan_url(people)))


def test_a_budget_line_is_removed(owner, people):
    post(owner, plan_url(people, "/budget/lines"), {"what": "Taxis", "amount": "100"})
    line = plan_of(people).budget_lines[0]
    assert post(owner, plan_url(people, f"/budget/lines/{line.id}/remove")).status_code == 303
    assert plan_of(people).budget_lines == ()
    assert post(owner, plan_url(people, f"/budget/lines/{line.id}/remove")).status_code == 404


def test_review_arrangements_are_saved_and_shown(owner, people):
    start = clock.today() - timedelta(days=30)
    review = clock.today() + timedelta(days=60)
    response = post(
        owner,
        plan_url(people, "/review-arrangements"),
        {**date_parts("start_date", start), **date_parts("next_review", review), "interval": "3"},
    )
    assert response.status_code == 303
    plan = plan_of(people)
    assert (plan.start_date, plan.next_review, plan.review_interval_months) == (start, review, 3)
    page = text_of(owner.get(plan_url(people)))
    assert f"{review.day} {review:%B %Y}" in page
    assert "3 months" in page


def test_a_next_review_date_in_the_past_is_allowed_because_reviews_run_late(owner, people):
    late = clock.today() - timedelta(days=5)
    response = post(
        owner,
        plan_url(people, "/review-arrangements"),
        {**date_parts("next_review", late), "interval": "12"},
    )
    assert response.status_code == 303
    assert plan_of(people).next_review == late


def test_the_sign_off_date_and_who_signed_it_off_are_saved(owner, people):
    today = clock.today()
    response = post(
        owner,
        plan_url(people, "/sign-off"),
        {**date_parts("signed_off_on", today), "signed_off_by": "Jo Brown, for the NHS"},
    )
    assert response.status_code == 303
    assert (plan_of(people).signed_off_on, plan_of(people).signed_off_by) == (
        today,
        "Jo Brown, for the NHS",
    )
    assert f"Signed off on {today.day} {today:%B %Y} by Jo Brown, for the NHS" in text_of(
        owner.get(plan_url(people))
    )


# --- who may change the plan -----------------------------------------------------------


EDIT_PAGES = [
    "/about-me",
    "/contingency",
    "/review-arrangements",
    "/sign-off",
    "/contacts",
    "/budget",
    "/budget/lines",
]


@pytest.mark.parametrize("suffix", EDIT_PAGES)
def test_the_coordinator_can_open_every_plan_form(coordinator, people, suffix):
    assert coordinator.get(plan_url(people, suffix)).status_code == 200


def test_the_coordinator_records_the_plan(coordinator, people):
    response = post(coordinator, plan_url(people, "/about-me"), {"what_matters": "Family"})
    assert response.status_code == 303
    plan = plan_of(people)
    assert plan.sections == {"what_matters": "Family"}
    assert plan.updated_by == people.coordinator_id


def test_a_carer_can_read_the_plan_but_sees_no_change_links(owner, carer, people):
    post(owner, plan_url(people, "/about-me"), {"what_matters": "My garden"})
    page = carer.get(plan_url(people))
    assert page.status_code == 200
    body = text_of(page)
    assert "My garden" in body
    for suffix in EDIT_PAGES:
        assert f'href="{plan_url(people, suffix)}"' not in body


@pytest.mark.parametrize("suffix", EDIT_PAGES)
def test_a_carer_cannot_open_a_plan_form(carer, people, suffix):
    assert carer.get(plan_url(people, suffix)).status_code == 404


@pytest.mark.parametrize(
    ("suffix", "data"),
    [
        ("/about-me", {"what_matters": "Carer's words"}),
        ("/contingency", {"warning_signs": "Carer's words"}),
        ("/review-arrangements", {"interval": "3"}),
        ("/sign-off", {"signed_off_by": "Carer"}),
        ("/contacts", {"name": "Carer's friend", "role": "other"}),
        ("/budget", {"total": "100"}),
        ("/budget/lines", {"what": "Carer's idea", "amount": "100"}),
    ],
)
def test_a_carer_cannot_change_the_plan(owner, carer, people, suffix, data):
    before = stored(people.app, people.record_id)
    assert post(carer, plan_url(people, suffix), data).status_code == 404
    assert stored(people.app, people.record_id) == before


def test_a_carer_cannot_remove_a_contact_or_a_budget_line(owner, carer, people):
    post(owner, plan_url(people, "/contacts"), {"name": "GP", "role": "professional"})
    post(owner, plan_url(people, "/budget/lines"), {"what": "Taxis", "amount": "50"})
    plan = plan_of(people)
    before = stored(people.app, people.record_id)
    contact_url = plan_url(people, f"/contacts/{plan.contacts[0].id}/remove")
    line_url = plan_url(people, f"/budget/lines/{plan.budget_lines[0].id}/remove")
    assert post(carer, contact_url).status_code == 404
    assert post(carer, line_url).status_code == 404
    assert stored(people.app, people.record_id) == before


def test_someone_with_no_part_in_the_record_cannot_see_or_change_the_plan(app, people, login_as):
    from .conftest import make_account

    make_account(app, "stranger@example.com", "Stan Stranger")
    stranger = login_as("stranger@example.com")
    assert stranger.get(plan_url(people)).status_code == 404
    assert stranger.get(plan_url(people, "/history")).status_code == 404
    before = stored(people.app, people.record_id)
    assert post(stranger, plan_url(people, "/about-me"), {"what_matters": "x"}).status_code == 404
    assert stored(people.app, people.record_id) == before


# --- the history -----------------------------------------------------------------------


def test_a_change_keeps_the_earlier_version(owner, people):
    post(owner, plan_url(people, "/about-me"), {"what_matters": "My garden"})
    post(owner, plan_url(people, "/about-me"), {"what_matters": "My garden and my dog"})
    plan = plan_of(people)
    assert plan.version == 2
    assert plan.text("what_matters") == "My garden and my dog"
    (kept,) = versions_kept(people)
    assert kept["version"] == 1
    assert kept["sections"] == {"what_matters": "My garden"}


def test_saving_with_nothing_changed_makes_no_new_version(owner, people):
    data = {"what_matters": "My garden", "appreciate": "", "how_to_support": "Be patient"}
    post(owner, plan_url(people, "/about-me"), data)
    before = stored(people.app, people.record_id)
    for _ in range(2):
        assert post(owner, plan_url(people, "/about-me"), data).status_code == 303
    # Spaces around the words are not a change either.
    padded = {k: f"  {v}  " for k, v in data.items()}
    assert post(owner, plan_url(people, "/about-me"), padded).status_code == 303
    assert plan_of(people).version == 1
    assert stored(people.app, people.record_id) == before
    assert len(plans_history(people)) == 1


def plans_history(people: People) -> list[plans.PlanVersion]:
    with people.app.app_context():
        return plans.history(people.record_id)


@pytest.mark.parametrize(
    ("suffix", "data"),
    [
        ("/review-arrangements", {"interval": "6"}),
        ("/sign-off", {"signed_off_by": "Jo"}),
        ("/budget", {"total": "100", "held": "notional"}),
    ],
)
def test_saving_the_same_details_twice_makes_one_version(owner, people, suffix, data):
    post(owner, plan_url(people, suffix), data)
    post(owner, plan_url(people, suffix), data)
    assert plan_of(people).version == 1


def test_the_history_says_what_changed_when_and_by_whom(monkeypatch, people, login_as):
    # 1 July is in British Summer Time: 9:05 UTC is 10:05am in the UK.
    now = Clock(monkeypatch, datetime(2026, 7, 1, 9, 5, tzinfo=UTC))
    owner = login_as("owner@example.com")
    coordinator = login_as("coord@example.com")

    post(owner, plan_url(people, "/about-me"), {"what_matters": "My garden"})
    now.advance(minutes=7)
    post(
        coordinator,
        plan_url(people, "/contingency"),
        {"warning_signs": "Breathless", "what_to_do": "Rescue pack"},
    )
    now.advance(minutes=5)
    post(coordinator, plan_url(people, "/contacts"), {"name": "GP", "role": "professional"})
    now.advance(minutes=5)
    post(
        owner,
        plan_url(people, "/review-arrangements"),
        {**date_parts("next_review", date(2026, 10, 1)), "interval": "6"},
    )

    versions = plans_history(people)
    assert [v.version for v in versions] == [4, 3, 2, 1]
    assert versions[0].changed == ("Next review date", "Review interval")
    assert versions[1].changed == ("Contacts",)
    assert versions[2].changed == ("Early warning signs and triggers", "What to do")
    assert versions[3].changed == ("Plan recorded",)

    page = owner.get(plan_url(people, "/history"))
    assert page.status_code == 200
    body = text_of(page)
    cards = body.split('class="nhsuk-card"')[1:]
    assert len(cards) == 4
    newest, contacts, contingency, first = cards
    assert "Version 4, 1 July 2026 at 10:22am" in newest
    assert "By Olive Owner" in newest
    assert "Next review date" in newest and "Review interval" in newest
    assert "Version 3, 1 July 2026 at 10:17am" in contacts
    assert "By Cody Coordinator" in contacts and "<li>Contacts</li>" in contacts
    assert "Version 2, 1 July 2026 at 10:12am" in contingency
    assert "By Cody Coordinator" in contingency
    assert "Early warning signs and triggers" in contingency and "What to do" in contingency
    assert "Whom to call" not in contingency
    assert "Version 1, 1 July 2026 at 10:05am" in first
    assert "By Olive Owner" in first and "Plan recorded" in first


def test_the_plan_page_links_to_its_history_with_the_version(owner, people):
    post(owner, plan_url(people, "/about-me"), {"what_matters": "A"})
    post(owner, plan_url(people, "/about-me"), {"what_matters": "B"})
    body = text_of(owner.get(plan_url(people)))
    assert "Version 2, last changed" in body
    assert f'href="{plan_url(people, "/history")}"' in body


def test_a_carer_can_read_the_history(owner, carer, people):
    post(owner, plan_url(people, "/about-me"), {"what_matters": "A"})
    page = carer.get(plan_url(people, "/history"))
    assert page.status_code == 200
    assert "By Olive Owner" in text_of(page)


@pytest.mark.parametrize(
    ("suffix", "data", "name"),
    [
        ("/sign-off", {"signed_off_by": "Jo"}, "Signed off by"),
        ("/budget", {"total": "10"}, "Budget"),
        ("/budget/lines", {"what": "Taxis", "amount": "10"}, "Budget"),
        ("/contacts", {"name": "GP", "role": "professional"}, "Contacts"),
        ("/information-sharing", {"information_sharing": "Carer only"}, "What I agree"),
    ],
)
def test_the_history_names_each_kind_of_change(owner, people, suffix, data, name):
    post(owner, plan_url(people, "/health"), {"health_summary": "COPD"})
    post(owner, plan_url(people, suffix), data)
    newest = plans_history(people)[0]
    assert newest.version == 2
    assert any(c.startswith(name) for c in newest.changed), newest.changed


# --- validation: every field of every plan form -----------------------------------------

TOO_LONG = "x" * (MAX_TEXT + 1)
TOMORROW = "tomorrow"


def _review(**overrides: str) -> dict[str, str]:
    data = {**date_parts("start_date"), **date_parts("next_review"), "interval": "12"}
    data.update(overrides)
    return data


def _sign_off(**overrides: str) -> dict[str, str]:
    data = {**date_parts("signed_off_on"), "signed_off_by": ""}
    data.update(overrides)
    return data


def _future(name: str) -> dict[str, str]:
    return date_parts(name, clock.today() + timedelta(days=1))


SECTION_CASES = [
    pytest.param(
        f"/{group}",
        {s.key: TOO_LONG},
        f"{s.title} must be 2,000 characters or fewer",
        id=f"{group}-{s.key}-too-long",
    )
    for group, (_, sections) in GROUPS.items()
    for s in sections
]

START = "The date the plan started"
NEXT = "The date of the next review"
SIGNED = "The date the plan was signed off"
INTERVAL = "How often the plan is reviewed must be a whole number from 1 to 12"

REVIEW_CASES = [
    pytest.param(
        _review(**date_parts("start_date", day="", month="3", year="2026")),
        f"{START} must include a day",
        id="start-no-day",
    ),
    pytest.param(
        _review(**date_parts("start_date", day="1", month="", year="2026")),
        f"{START} must include a month",
        id="start-no-month",
    ),
    pytest.param(
        _review(**date_parts("start_date", day="1", month="3", year="")),
        f"{START} must include a year",
        id="start-no-year",
    ),
    pytest.param(
        _review(**date_parts("start_date", day="one", month="3", year="2026")),
        f"{START} must be a real date",
        id="start-not-a-number",
    ),
    pytest.param(
        _review(**date_parts("start_date", day="31", month="2", year="2026")),
        f"{START} must be a real date",
        id="start-31-february",
    ),
    pytest.param(
        _review(**date_parts("start_date", day="29", month="2", year="2026")),
        f"{START} must be a real date",
        id="start-29-february-not-leap",
    ),
    pytest.param(
        _review(**date_parts("start_date", day="1", month="13", year="2026")),
        f"{START} must be a real date",
        id="start-month-13",
    ),
    pytest.param(
        _review(**date_parts("start_date", day="-1", month="3", year="2026")),
        f"{START} must be a real date",
        id="start-negative-day",
    ),
    pytest.param(
        _review(**date_parts("start_date", day="1", month="3", year="26")),
        "Year must include 4 numbers",
        id="start-2-digit-year",
    ),
    pytest.param(
        _review(**date_parts("start_date", day="1", month="3", year="1066")),
        f"{START} must be a real date",
        id="start-year-1066",
    ),
    pytest.param(
        _review(**_future("start_date")),
        f"{START} must be today or in the past",
        id="start-in-the-future",
    ),
    pytest.param(
        _review(**date_parts("next_review", day="", month="", year="2027")),
        f"{NEXT} must include a day",
        id="next-no-day",
    ),
    pytest.param(
        _review(**date_parts("next_review", day="30", month="2", year="2027")),
        f"{NEXT} must be a real date",
        id="next-30-february",
    ),
    pytest.param(
        _review(**date_parts("next_review", day="1", month="6", year="27")),
        "Year must include 4 numbers",
        id="next-2-digit-year",
    ),
    pytest.param(
        _review(**date_parts("next_review", day="1", month="June", year="2027")),
        f"{NEXT} must be a real date",
        id="next-month-in-words",
    ),
    pytest.param(_review(interval="0"), INTERVAL, id="interval-0"),
    pytest.param(_review(interval="13"), INTERVAL, id="interval-13"),
    pytest.param(_review(interval="-1"), INTERVAL, id="interval-negative"),
    pytest.param(_review(interval="1.5"), INTERVAL, id="interval-decimal"),
    pytest.param(_review(interval="six"), INTERVAL, id="interval-words"),
    pytest.param(_review(interval="1e3"), INTERVAL, id="interval-exponent"),
    pytest.param(_review(interval=""), "Enter how often the plan is reviewed", id="interval-blank"),
]

SIGN_OFF_CASES = [
    pytest.param(
        _sign_off(**_future("signed_off_on")),
        f"{SIGNED} must be today or in the past",
        id="signed-in-the-future",
    ),
    pytest.param(
        _sign_off(**date_parts("signed_off_on", day="1", month="", year="2026")),
        f"{SIGNED} must include a month",
        id="signed-no-month",
    ),
    pytest.param(
        _sign_off(**date_parts("signed_off_on", day="31", month="4", year="2026")),
        f"{SIGNED} must be a real date",
        id="signed-31-april",
    ),
    pytest.param(
        _sign_off(**date_parts("signed_off_on", day="1", month="4", year="202")),
        "Year must include 4 numbers",
        id="signed-3-digit-year",
    ),
    pytest.param(
        _sign_off(signed_off_by="x" * 201),
        "Who signed it off must be 200 characters or fewer",
        id="signed-by-too-long",
    ),
]

PHONE = "Enter a phone number, like 01632 960 001 or 07700 900 982"
EMAIL = "Enter an email address in the correct format, like name@example.com"


def _contact(**overrides: str) -> dict[str, str]:
    data = {"name": "Jo", "role": "carer", "detail": "", "phone": "", "email": ""}
    data.update(overrides)
    return data


CONTACT_CASES = [
    pytest.param(_contact(name=""), "Enter the contact's name", id="name-blank"),
    pytest.param(_contact(name="   "), "Enter the contact's name", id="name-spaces"),
    pytest.param(
        _contact(name="x" * 101), "Name must be 100 characters or fewer", id="name-too-long"
    ),
    pytest.param(_contact(role=""), "Select who they are", id="role-missing"),
    pytest.param(_contact(role="boss"), "Select who they are", id="role-unknown"),
    pytest.param(
        _contact(detail="x" * 101),
        "What they do must be 100 characters or fewer",
        id="detail-too-long",
    ),
    pytest.param(_contact(phone="call me"), PHONE, id="phone-words"),
    pytest.param(_contact(phone="12"), PHONE, id="phone-too-short"),
    pytest.param(_contact(phone="0161 496 0000 ext 2"), PHONE, id="phone-extension"),
    pytest.param(
        _contact(phone="0" * 21),
        "Phone number must be 20 characters or fewer",
        id="phone-too-long",
    ),
    pytest.param(_contact(email="not-an-email"), EMAIL, id="email-no-at"),
    pytest.param(_contact(email="jo@"), EMAIL, id="email-no-domain"),
    pytest.param(_contact(email="jo @example.com"), EMAIL, id="email-space"),
    pytest.param(
        _contact(email=f"{'x' * 250}@example.com"),
        "Email address must be 254 characters or fewer",
        id="email-too-long",
    ),
]

TOTAL_FORMAT = "The total budget must be an amount in pounds, like 125.50"
TOTAL_RANGE = "The total budget must be more than £0 and no more than £10,000,000"
AMOUNT_FORMAT = "The amount must be an amount in pounds, like 125.50"
AMOUNT_RANGE = "The amount must be more than £0 and no more than £10,000,000"

BUDGET_CASES = [
    pytest.param({"total": "-100"}, TOTAL_FORMAT, id="total-negative"),
    pytest.param({"total": "0"}, TOTAL_RANGE, id="total-zero"),
    pytest.param({"total": "0.00"}, TOTAL_RANGE, id="total-zero-pence"),
    pytest.param({"total": "10.555"}, TOTAL_FORMAT, id="total-3-decimal-places"),
    pytest.param({"total": "lots"}, TOTAL_FORMAT, id="total-text"),
    pytest.param({"total": "10000001"}, TOTAL_RANGE, id="total-over-the-limit"),
    pytest.param({"total": "9" * 30}, TOTAL_FORMAT, id="total-huge"),
    pytest.param({"total": "1e309"}, TOTAL_FORMAT, id="total-exponent"),
    pytest.param({"total": "NaN"}, TOTAL_FORMAT, id="total-nan"),
    pytest.param({"total": "Infinity"}, TOTAL_FORMAT, id="total-infinity"),
    pytest.param({"held": "under-the-mattress"}, "Select how the budget is held", id="held-bad"),
]

LINE_CASES = [
    pytest.param(
        {"what": "", "amount": "10"},
        "Enter what this part of the budget pays for",
        id="what-blank",
    ),
    pytest.param(
        {"what": "x" * 201, "amount": "10"},
        "What it pays for must be 200 characters or fewer",
        id="what-too-long",
    ),
    pytest.param({"what": "Taxis", "amount": ""}, "Enter the amount", id="amount-blank"),
    pytest.param({"what": "Taxis", "amount": "-5"}, AMOUNT_FORMAT, id="amount-negative"),
    pytest.param({"what": "Taxis", "amount": "0"}, AMOUNT_RANGE, id="amount-zero"),
    pytest.param({"what": "Taxis", "amount": "1.999"}, AMOUNT_FORMAT, id="amount-3-places"),
    pytest.param({"what": "Taxis", "amount": "ten pounds"}, AMOUNT_FORMAT, id="amount-text"),
    pytest.param({"what": "Taxis", "amount": "99999999"}, AMOUNT_RANGE, id="amount-huge"),
]


def _check_refused(owner, people, suffix: str, data: dict[str, str], message: str) -> None:
    # Something recorded first, so "stores nothing" is checked against a real plan.
    post(owner, plan_url(people, "/health"), {"health_summary": "COPD"})
    before = stored(people.app, people.record_id)
    response = post(owner, plan_url(people, suffix), data)
    assert_problem(response, message)
    assert stored(people.app, people.record_id) == before
    assert plan_of(people).version == 1


@pytest.mark.parametrize(("suffix", "data", "message"), SECTION_CASES)
def test_a_plan_section_that_is_too_long_is_refused(owner, people, suffix, data, message):
    _check_refused(owner, people, suffix, data, message)


def test_a_plan_section_of_exactly_the_limit_is_accepted(owner, people):
    response = post(owner, plan_url(people, "/health"), {"health_summary": "x" * MAX_TEXT})
    assert response.status_code == 303


@pytest.mark.parametrize(("data", "message"), REVIEW_CASES)
def test_bad_review_arrangements_are_refused(owner, people, data, message):
    _check_refused(owner, people, "/review-arrangements", data, message)


@pytest.mark.parametrize(("data", "message"), SIGN_OFF_CASES)
def test_a_bad_sign_off_is_refused(owner, people, data, message):
    _check_refused(owner, people, "/sign-off", data, message)


@pytest.mark.parametrize(("data", "message"), CONTACT_CASES)
def test_a_bad_contact_is_refused(owner, people, data, message):
    _check_refused(owner, people, "/contacts", data, message)


@pytest.mark.parametrize(("data", "message"), BUDGET_CASES)
def test_a_bad_budget_is_refused(owner, people, data, message):
    _check_refused(owner, people, "/budget", data, message)


@pytest.mark.parametrize(("data", "message"), LINE_CASES)
def test_a_bad_budget_line_is_refused(owner, people, data, message):
    _check_refused(owner, people, "/budget/lines", data, message)


def test_a_refused_date_keeps_what_was_typed_so_it_can_be_corrected(owner, people):
    response = post(
        owner,
        plan_url(people, "/review-arrangements"),
        _review(**date_parts("start_date", day="31", month="2", year="2026")),
    )
    body = text_of(response)
    assert 'value="31"' in body and 'value="2026"' in body
    assert "nhsuk-input--error" in body


def test_a_date_today_is_allowed_where_the_future_is_not(owner, people):
    today = clock.today()
    response = post(
        owner,
        plan_url(people, "/review-arrangements"),
        _review(**date_parts("start_date", today)),
    )
    assert response.status_code == 303
    assert plan_of(people).start_date == today


def test_a_future_start_date_is_refused_even_when_another_field_is_wrong_too(owner, people):
    response = post(
        owner,
        plan_url(people, "/review-arrangements"),
        _review(**_future("start_date"), interval="99"),
    )
    assert_problem(response, INTERVAL)
    assert_problem(response, f"{START} must be today or in the past")


# --- what people write is shown as text ----------------------------------------------------

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_what_people_write_in_the_plan_goals_and_actions_is_shown_as_text(owner, people):
    from tracker import actions, goals

    post(owner, plan_url(people, "/contingency"), {"warning_signs": SCRIPT})
    post(
        owner,
        plan_url(people, "/contacts"),
        {"name": SCRIPT, "role": "other", "phone": "01632 960 004"},
    )
    with people.app.app_context():
        goal = goals.add_goal(people.record_id, outcome=SCRIPT, by=people.owner_id)
        goals.set_goal_status(
            people.record_id, goal.id, goals.GoalStatus.ON_HOLD, by=people.owner_id, note=SCRIPT
        )
        goals.add_note(people.record_id, goal.id, text=SCRIPT, by=people.owner_id)
        action = actions.add_action(
            people.record_id,
            goal_id=goal.id,
            what=SCRIPT,
            owner=actions.Owner.ME,
            schedule=actions.Schedule(actions.Repeat.DAILY, clock.today()),
        )
    pages = [
        plan_url(people),
        plan_url(people, "/contingency"),
        f"/records/{people.record_id}/help-now",
        f"/records/{people.record_id}/goals/{goal.id}",
        f"/records/{people.record_id}/today",
        f"/records/{people.record_id}/actions/{action.id}/mark?day={clock.today().isoformat()}",
    ]
    for page in pages:
        raw = owner.get(page).get_data(as_text=True)
        assert "<script>alert" not in raw, page
        assert "<img src=x" not in raw, page
        assert "&lt;script&gt;alert(" in raw, page
