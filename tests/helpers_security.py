"""Builders shared by the security and authorization tests.

A *world* is two people's records made through the domain modules:

* **A**, the record every actor relates to (owner, carers with different
  categories, a revoked carer, the person's coordinator). Its text is planted
  with one marker per sharing category, so a response can be checked for what
  it shows as well as for its status.
* **B**, another person's record, owned by someone who is not an actor, with
  the marker ``MRKB`` in every place text can live. No actor may ever see it.
* **C**, a record on the other coordinator's own caseload.

Signed-in actors are held as a session cookie plus its CSRF token, not as a
client with a cookie jar: a request that signs the actor out then cannot spoil
the next one, and :func:`restore` puts the data folder back as it was.
"""

from __future__ import annotations

import inspect
import re
import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.routing import Rule

from tracker import actions, clock, goals, invitations, logs, plans, records, sharing, trackers
from tracker.roles import DEFAULT_CATEGORIES, Category, Role
from tracker.store import clear_cache

from .conftest import csrf_token, make_account, sign_in

COOKIE = "tracker_session"
MARK_B = "MRKB"
# One marker per category in record A: only members who see the category may see it.
MARK_A = {c: f"MRKA{c.value.upper()}" for c in Category}
JUNK = "zz0junk0id"

# Carers of record A, by what the owner shares with them.
CARER_SETS: dict[str, frozenset[Category]] = {
    "carer with default categories": DEFAULT_CATEGORIES[Role.CARER],
    "carer with no categories": frozenset(),
    "carer with every category": frozenset(Category),
    **{f"carer with only {c.value}": frozenset({c}) for c in Category},
}
ACTOR_NAMES = [
    "anonymous",
    "owner",
    *CARER_SETS,
    "revoked carer",
    "the person's coordinator",
    "another coordinator",
]

SECURITY_HEADERS = {
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
}


@dataclass
class Actor:
    """Someone making requests: anonymous, or an account with a live session."""

    name: str
    email: str | None = None
    account_id: str | None = None
    is_coordinator: bool = False
    role_in_a: Role | None = None
    categories_in_a: frozenset[Category] = frozenset()
    cookie: str = ""
    csrf: str = ""

    @property
    def signed_in(self) -> bool:
        return self.account_id is not None

    def sees_in_a(self, category: Category) -> bool:
        if self.role_in_a is None:
            return False
        return self.role_in_a is Role.OWNER or category in self.categories_in_a


@dataclass
class World:
    app: Flask
    data_dir: Path
    snapshot_dir: Path
    record_a: str
    record_b: str
    record_c: str
    owner_b: Actor
    # Parameter name -> {"A": [...], "B": [...]}: real ids belonging to each record.
    ids: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    # Account ids of A's members, by actor name, and membership ids.
    member_ids: dict[str, str] = field(default_factory=dict)


def plant(record_id: str, mark: str | dict[Category, str], *, by: str) -> dict[str, list[str]]:
    """Put marked text everywhere text can live in a record; return the ids made.

    ``mark`` is one marker for everything (record B) or one per category (record A).
    """

    def m(category: Category, place: str) -> str:
        base = mark if isinstance(mark, str) else mark[category]
        return f"{base} {place}"

    today = clock.now().date()
    plans.save_plan(
        record_id,
        by=by,
        sections={key: m(Category.PLAN, f"plan {key}") for key in plans.SECTIONS},
        start_date=today - timedelta(days=30),
        next_review=today + timedelta(days=60),
        signed_off_by=m(Category.PLAN, "signed off by"),
    )
    made: dict[str, list[str]] = {}
    # Parts of the plan that other engineers are adding: plant them too when present.
    if hasattr(plans, "add_contact") and hasattr(plans, "ContactRole"):
        plan = plans.add_contact(
            record_id,
            by=by,
            name=m(Category.PLAN, "contact name"),
            role=plans.ContactRole.OTHER,
            detail=m(Category.PLAN, "contact detail"),
        )
        made["contact_id"] = [c.id for c in plan.contacts]
    if hasattr(plans, "add_budget_line"):
        from decimal import Decimal

        plan = plans.add_budget_line(
            record_id, by=by, what=m(Category.PLAN, "budget line"), amount=Decimal("12.50")
        )
        made["line_id"] = [line.id for line in plan.budget_lines]
        try:
            from tracker import budget
        except ImportError:  # budget monitoring not built yet
            budget = None
        if budget is not None:
            # A real receipt photo, so every actor is tried against a real receipt id.
            from tracker import receipts

            receipt_id = receipts.save_receipt(record_id, _small_png())
            spend = budget.record_spending(
                record_id,
                on=today,
                amount=Decimal("9.99"),
                payee=m(Category.BUDGET, "spend payee"),
                line_id=made["line_id"][0],
                author_id=by,
                note=m(Category.BUDGET, "spend note"),
                receipt_id=receipt_id,
            )
            made["spend_id"] = [spend.id]
            made["receipt_id"] = [receipt_id]
    goal = goals.add_goal(
        record_id,
        by=by,
        outcome=m(Category.PLAN, "goal outcome"),
        need=m(Category.PLAN, "goal need"),
        measure=m(Category.PLAN, "goal measure"),
    )
    goals.set_goal_status(
        record_id, goal.id, goals.GoalStatus.ON_HOLD, by=by, note=m(Category.PLAN, "goal note")
    )
    if hasattr(goals, "add_note"):
        goals.add_note(record_id, goal.id, text=m(Category.PLAN, "goal progress note"), by=by)
    action = actions.add_action(
        record_id,
        goal_id=goal.id,
        what=m(Category.ACTIONS, "action what"),
        owner=actions.Owner.ME,
        owner_name=m(Category.ACTIONS, "action owner"),
        schedule=actions.Schedule(actions.Repeat.DAILY, start=today - timedelta(days=3)),
        confidence=4,
        support_needed=m(Category.ACTIONS, "action support"),
        barriers=m(Category.ACTIONS, "action barriers"),
        strategies=m(Category.ACTIONS, "action strategies"),
    )
    tracker = trackers.define_tracker(
        record_id,
        name=m(Category.SYMPTOMS, "tracker name"),
        kind=trackers.TrackerKind.NUMBER,
        unit=m(Category.SYMPTOMS, "unit"),
    )
    an_hour_ago = clock.now() - timedelta(hours=1)
    mood_id = logs.record_mood(
        record_id,
        author_id=by,
        score=2,
        note=m(Category.MOOD, "mood note"),
        occurred_at=an_hour_ago,
    )
    diary_id = logs.write_diary(
        record_id,
        author_id=by,
        text=m(Category.DIARY, "diary text"),
        mark=logs.DiaryMark.NOT_WORKING,
        occurred_at=an_hour_ago,
    )
    reading: dict = {"tracker_id": tracker.id, "value": 7, "occurred_at": an_hour_ago}
    if "note" in inspect.signature(logs.record_reading).parameters:
        reading["note"] = m(Category.SYMPTOMS, "reading note")
    reading_id = logs.record_reading(record_id, author_id=by, **reading)
    # The logs module is growing: use its own writers where they exist, so the
    # planted entries look exactly like real ones to the pages that show them.
    if hasattr(logs, "record_support"):
        support_id = logs.record_support(
            record_id,
            author_id=by,
            kind=logs.SupportKind.GIVEN,
            what=m(Category.SUPPORT, "support given"),
            minutes=30,
            occurred_at=an_hour_ago,
        )
    else:
        support_id = logs.log(
            record_id,
            logs.Kind.SUPPORT,
            author_id=by,
            data={"note": m(Category.SUPPORT, "support note")},
            occurred_at=an_hour_ago,
        )
    entry_ids = [diary_id, mood_id, reading_id, support_id]
    if hasattr(logs, "record_event"):
        entry_ids.append(
            logs.record_event(
                record_id,
                author_id=by,
                event=next(iter(logs.EventType)),
                note=m(logs.KIND_CATEGORY[logs.Kind.EVENT], "care event note"),
                occurred_at=an_hour_ago,
            )
        )
    made |= {
        "goal_id": [goal.id],
        "action_id": [action.id],
        "tracker_id": [tracker.id],
        "entry_id": entry_ids,
    }
    return made


def _small_png() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (4, 3), "white").save(out, "PNG")
    return out.getvalue()


def session_cookie(app: Flask, email: str | None) -> tuple[str, str]:
    """Sign in (unless ``email`` is None) and return the session cookie and its CSRF token."""
    c = app.test_client()
    if email is not None:
        response = sign_in(c, email)
        assert response.status_code == 303, response.get_data(as_text=True)[:300]
    token = csrf_token(c)
    cookie = c.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value, token


def build_world(app: Flask, snapshot_dir: Path) -> World:
    """Make records A, B and C, every actor, and a snapshot of the data folder."""
    owner_a = make_account(app, "owner.a@example.com", "Ada Owner")
    owner_b = make_account(app, "owner.b@example.com", "Bea Owner")
    carer_b = make_account(app, "carer.b@example.com", "Bob Carer")
    coord_a = make_account(app, "coord.a@example.com", "Cleo Coordinator", coordinator=True)
    coord_c = make_account(app, "coord.c@example.com", "Cyril Coordinator", coordinator=True)

    carer_sets = CARER_SETS
    carers = {
        name: make_account(app, f"carer{i}@example.com", f"Carer {i}")
        for i, name in enumerate([*carer_sets, "revoked carer"])
    }

    with app.app_context():
        a = records.create_record("Ada Owner", created_by=owner_a.id, owner_id=owner_a.id)
        b = records.create_record(f"{MARK_B} record name", created_by=owner_b.id)
        records.set_owner(b.id, owner_b.id)
        c = records.create_record("Cyril's caseload person", created_by=coord_c.id)
        sharing.add_member(a.id, owner_a.id, Role.OWNER)
        sharing.add_member(b.id, owner_b.id, Role.OWNER)
        member_b = sharing.add_member(b.id, carer_b.id, Role.CARER)
        sharing.add_member(a.id, coord_a.id, Role.COORDINATOR)
        sharing.add_member(c.id, coord_c.id, Role.COORDINATOR)
        member_ids = {}
        for name, cats in carer_sets.items():
            member_ids[name] = sharing.add_member(a.id, carers[name].id, Role.CARER, cats).id
        revoked = sharing.add_member(a.id, carers["revoked carer"].id, Role.CARER)
        sharing.revoke_member(a.id, revoked.id)

        ids_a = plant(a.id, MARK_A, by=owner_a.id)
        ids_b = plant(b.id, MARK_B, by=owner_b.id)
        plant(c.id, "Cyril's person", by=coord_c.id)

        token_a, inv_a = invitations.create_invitation(
            a.id, Role.CARER, created_by=owner_a.id, label="Ada's friend"
        )
        _, inv_b = invitations.create_invitation(
            b.id, Role.CARER, created_by=owner_b.id, label=f"{MARK_B} invitation label"
        )
        # B's link in the matrix is a cancelled one: a live link is a key to B by
        # design, and accepting it would make the actor entitled to B.
        token_b, inv_b_cancelled = invitations.create_invitation(
            b.id, Role.CARER, created_by=owner_b.id, label=f"{MARK_B} cancelled label"
        )
        invitations.revoke_invitation(b.id, inv_b_cancelled.id)
        invitations.create_invitation(c.id, Role.OWNER, created_by=coord_c.id, label="owner")

    # B's owner is signed in somewhere, so there is a real session id of someone else's.
    from tracker import sessions

    owner_b_actor = Actor("B's owner", owner_b.email, owner_b.id, False)
    owner_b_actor.cookie, owner_b_actor.csrf = session_cookie(app, owner_b.email)
    with app.app_context():
        (session_b,) = sessions.list_sessions(owner_b.id)

    ids = {
        "record_id": {"A": [a.id], "B": [b.id]},
        "member_id": {"A": [member_ids["carer with default categories"]], "B": [member_b.id]},
        "invitation_id": {"A": [inv_a.id], "B": [inv_b.id]},
        "token": {"A": [token_a], "B": [token_b]},
        "session_id": {"A": [], "B": [session_b.id]},
    }
    for key in {*ids_a, *ids_b}:
        ids[key] = {"A": ids_a.get(key, []), "B": ids_b.get(key, [])}

    world = World(
        app=app,
        data_dir=Path(app.config["TRACKER_DATA_DIR"]),
        snapshot_dir=snapshot_dir,
        record_a=a.id,
        record_b=b.id,
        record_c=c.id,
        owner_b=owner_b_actor,
        ids=ids,
        member_ids=member_ids,
    )
    actors = [
        Actor("anonymous"),
        Actor("owner", "owner.a@example.com", owner_a.id, False, Role.OWNER, frozenset(Category)),
        *(
            Actor(name, carers[name].email, carers[name].id, False, Role.CARER, cats)
            for name, cats in carer_sets.items()
        ),
        Actor("revoked carer", carers["revoked carer"].email, carers["revoked carer"].id),
        Actor(
            "the person's coordinator",
            coord_a.email,
            coord_a.id,
            True,
            Role.COORDINATOR,
            DEFAULT_CATEGORIES[Role.COORDINATOR],
        ),
        Actor("another coordinator", coord_c.email, coord_c.id, True),
    ]
    for actor in actors:
        actor.cookie, actor.csrf = session_cookie(app, actor.email)
        world.actors[actor.name] = actor
    snapshot(world)
    return world


def snapshot(world: World) -> None:
    if world.snapshot_dir.exists():
        shutil.rmtree(world.snapshot_dir)
    shutil.copytree(world.data_dir, world.snapshot_dir)


def restore(world: World) -> None:
    """Put the data folder back as the snapshot left it (sessions, sharing, everything)."""
    shutil.rmtree(world.data_dir)
    shutil.copytree(world.snapshot_dir, world.data_dir)
    clear_cache()


def request_as(
    app: Flask,
    actor: Actor,
    method: str,
    path: str,
    *,
    htmx: bool = False,
    data: dict | None = None,
    headers: dict | None = None,
):
    """One request with the actor's cookie (and, for a POST, a valid CSRF token)."""
    client = app.test_client(use_cookies=False)
    sent = {"Cookie": f"{COOKIE}={actor.cookie}"} if actor.cookie else {}
    if htmx:
        sent["HX-Request"] = "true"
    sent |= headers or {}
    body = None
    if method not in {"GET", "HEAD", "OPTIONS"}:
        body = {"csrf_token": actor.csrf, **(data or {})}
    return client.open(path, method=method, headers=sent, data=body)


def is_sign_in_redirect(response) -> bool:
    """A redirect to the sign-in page, plain (303) or for htmx (204 + HX-Redirect)."""
    if response.status_code in {301, 302, 303, 307, 308}:
        target = response.headers.get("Location", "")
    elif response.status_code == 204:
        target = response.headers.get("HX-Redirect", "")
    else:
        return False
    return urlsplit(target).path == "/sign-in"


def text_of(response) -> str:
    """Body and header values: everything a response could leak through."""
    headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())
    return headers + "\n" + response.get_data().decode("utf-8", "replace")


def missing_security_headers(response) -> set[str]:
    return {h for h in SECURITY_HEADERS if h not in response.headers}


def static_parts(rule: Rule) -> str:
    """The rule's text without its ``<converter:variables>``."""
    return re.sub(r"<[^>]*>", "", rule.rule)
