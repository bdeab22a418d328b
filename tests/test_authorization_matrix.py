"""The authorization matrix: every route, every method, every actor, plain and htmx.

Routes come from ``app.url_map``, so a route added later is covered without
touching this file. URL parameters are filled with real ids from record A (the
actors' record), real ids from record B (another person's), and junk. For each
request the expected outcome is worked out from the view's ``required_permission``
and ``roles.RULES``:

* no response is ever a server error, and every one carries the security headers;
* B's marker text never appears, and A's text of a category appears only to
  actors who see that category;
* anonymous requests to anything but public routes go to sign-in;
* a signed-in request that names B (its record or any of its ids), an id that does
  not exist, or a part of A the actor may not see, answers 404;
* a GET of a record page (or an account page) the actor is entitled to answers 200
  (a redirect, for account pages); pages about one thing in the record may add
  their own rules (only the author edits an entry), so only the rest applies there.

POSTs carry a valid CSRF token (this tests authorization, not CSRF), and after any
POST that succeeded the data folder is restored from a snapshot, so every request
meets the same starting state. Requests turned away go either plain or with
``HX-Request`` (alternating), the rest both ways: well under a minute in all.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.routing import Rule

from tracker import create_app, plans
from tracker.roles import RULES, Category, Permission, Scope, allowed
from tracker.store import clear_cache

from .helpers_security import (
    ACTOR_NAMES,
    JUNK,
    MARK_A,
    MARK_B,
    Actor,
    World,
    build_world,
    is_sign_in_redirect,
    missing_security_headers,
    request_as,
    restore,
    text_of,
)

# Parameters whose values are not ids of anything in a record.
NEUTRAL_VALUES = {
    "role": ["carer", "coordinator"],
    "group": list(getattr(plans, "GROUPS", {})),  # plan section groups
}


# Record pages whose view narrows the table's answer further: the page needs at
# least one of these categories too. Better expressed as a permission of its own
# (reported to the lead); listed here so the matrix still asserts exactly.
NARROWED_BY_VIEW: dict[str, frozenset[Category]] = {
    "logs.trends": frozenset({Category.MOOD, Category.SYMPTOMS}),
}


@dataclass(frozen=True)
class Value:
    """One value for a URL parameter and whose it is: "A", "B", "junk", "any" or "unknown"."""

    value: str
    whose: str


def matrix_app(folder: Path) -> Flask:
    app = create_app(
        {
            "ENV_NAME": "test",
            "TRACKER_DATA_DIR": str(folder / "data"),
            "WTF_CSRF_ENABLED": True,
            # Every actor posts to the sign-in form here; the limits have their own tests.
            "TRACKER_SIGNIN_LIMIT_ACCOUNT": "100000 per minute",
            "TRACKER_SIGNIN_LIMIT_ADDRESS": "100000 per minute",
        }
    )
    app.instance_path = str(folder / "instance")
    return app


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("matrix")
    clear_cache()
    yield build_world(matrix_app(tmp), tmp / "snapshot")
    clear_cache()


def _junk_for(rule: Rule, arg: str) -> str:
    converter = type(rule._converters[arg]).__name__
    if converter in {"IntegerConverter", "NumberConverter"}:
        return "987654"
    if converter == "UUIDConverter":
        return "00000000-0000-4000-8000-000000000000"
    return JUNK


def values_for(world: World, rule: Rule, arg: str) -> list[Value]:
    if arg == "filename":
        real = "css/app.css" if rule.endpoint == "static" else "images/favicon.svg"
        return [Value(real, "any"), Value("no/such/file.css", "junk"), Value("../roles.py", "junk")]
    if arg in NEUTRAL_VALUES:
        return [Value(v, "any") for v in NEUTRAL_VALUES[arg]] + [
            Value(_junk_for(rule, arg), "junk")
        ]
    if arg not in world.ids:
        # A parameter this file does not know yet: only junk can be sent, and
        # only "no server error, no leak" can be asserted.
        return [Value(_junk_for(rule, arg), "unknown")]
    out = [Value(v, "A") for v in world.ids[arg]["A"]]
    out += [Value(v, "B") for v in world.ids[arg]["B"]]
    out.append(Value(_junk_for(rule, arg), "junk"))
    return out


def combinations(world: World, rule: Rule) -> list[dict[str, Value]]:
    """Mixes of values, one factor at a time (a full product would take minutes).

    With record A: every mix of A's real ids, then each other parameter in turn
    set to B's id or to junk. Record B (with B's ids) and a junk record once each:
    both must stop at the record.
    """
    args = sorted(rule.arguments)
    choices = {a: values_for(world, rule, a) for a in args}
    record_whose = ("A", "B", "junk") if "record_id" in choices else ("A",)
    out = []
    for whose in record_whose:
        record = [v for v in choices.get("record_id", []) if v.whose == whose]
        others = {a: vs for a, vs in choices.items() if a != "record_id"}
        # The base mix: each other parameter's values of the same record (or any/unknown).
        base = {
            a: [v for v in vs if v.whose in {whose, "any", "unknown"}]
            or [v for v in vs if v.whose != "B"][:1]
            for a, vs in others.items()
        }
        if whose != "A":
            base = {a: vs[:1] for a, vs in base.items()}
        for combo in itertools.product(*base.values()):
            out.append(dict(zip(base, combo, strict=True)) | _record(record))
        if whose != "A":
            continue
        first = {a: vs[0] for a, vs in base.items()}
        for a, vs in others.items():
            for v in vs:
                if v.whose in {"B", "junk"}:
                    out.append(first | {a: v} | _record(record))
    unique = {tuple(sorted((k, v.value) for k, v in c.items())): c for c in out}
    return list(unique.values())


def _record(values: list[Value]) -> dict[str, Value]:
    return {"record_id": values[0]} if values else {}


def permission_of(world: World, rule: Rule) -> Permission | None:
    if rule.endpoint == "static":
        return Permission.PUBLIC
    view = world.app.view_functions[rule.endpoint]
    return getattr(view, "required_permission", None)


def door_closed(actor: Actor, permission: Permission) -> bool:
    """True if the table turns the actor away before any id is looked at."""
    rule = RULES[permission]
    if rule.scope is Scope.ANYONE:
        return False
    if not actor.signed_in:
        return True
    if permission is Permission.COORDINATE and not actor.is_coordinator:
        return True
    return rule.scope is Scope.RECORD and (
        actor.role_in_a is None or not allowed(actor.role_in_a, actor.categories_in_a, permission)
    )


def expected(
    actor: Actor, endpoint: str, permission: Permission, method: str, chosen: dict[str, Value]
):
    """What the response must be: a status, "sign-in", "allowed", or None (no rule)."""
    rule = RULES[permission]
    whose = {v.whose for v in chosen.values()}
    if rule.scope is Scope.ANYONE:
        return None
    if not actor.signed_in:
        return "sign-in"
    if "B" in whose:
        return 404
    if permission is Permission.COORDINATE and not actor.is_coordinator:
        return 404
    if rule.scope is Scope.RECORD:
        record = chosen.get("record_id")
        if record is None or record.whose != "A" or actor.role_in_a is None:
            return 404
        if not allowed(actor.role_in_a, actor.categories_in_a, permission):
            return 404
    if "junk" in whose:
        return 404
    if "unknown" in whose:
        return None
    if any(v.whose == "A" for k, v in chosen.items() if k != "record_id"):
        # A page about one thing (an entry, a goal) may add its own rule on top of
        # the table, such as "only the author may edit it": only the checks above
        # (B's ids, junk ids, closed doors) and the marker check apply.
        return None
    if method != "GET":
        # An empty form may fairly answer 422, 404 (no such occurrence) or 303.
        return None
    if endpoint in NARROWED_BY_VIEW and rule.scope is Scope.RECORD:
        return 200 if any(actor.sees_in_a(c) for c in NARROWED_BY_VIEW[endpoint]) else 404
    # Account pages may send the actor on (a redirect); record pages must show.
    return 200 if RULES[permission].scope is Scope.RECORD else "allowed"


def check(actor: Actor, response, want, label: str, seen: set[Category] | None = None) -> list[str]:
    problems = []
    status = response.status_code
    if status >= 500:
        problems.append(f"{label}: server error {status}")
    missing = missing_security_headers(response)
    if missing:
        problems.append(f"{label}: missing {sorted(missing)}")
    text = text_of(response)
    if MARK_B in text:
        problems.append(f"{label}: shows another person's record (B) text")
    for category, mark in MARK_A.items():
        if mark in text:
            if seen is not None:
                seen.add(category)
            if not actor.sees_in_a(category):
                problems.append(f"{label}: shows A's {category.value} text, which is not shared")
    if want == "sign-in" and not is_sign_in_redirect(response):
        problems.append(f"{label}: {status}, expected a redirect to sign in")
    elif want == "allowed" and (status == 404 or is_sign_in_redirect(response)):
        problems.append(f"{label}: {status}, expected the request to be allowed")
    elif isinstance(want, int) and status != want:
        problems.append(f"{label}: {status}, expected {want}")
    return problems


def run_matrix(world: World, actor: Actor) -> tuple[list[str], int, set[Category]]:
    """Every request for one actor: the problems found, how many requests, what A text showed."""
    app = world.app
    problems: list[str] = []
    seen: set[Category] = set()
    count = 0
    restore(world)
    for rule in app.url_map.iter_rules():
        permission = permission_of(world, rule)
        if permission is None:
            problems.append(f"{rule.rule}: no @requires (see test_routes)")
            continue
        combos = combinations(world, rule)
        closed = door_closed(actor, permission)
        if closed:
            # Turned away at the door whatever the other ids are: A's ids and
            # B's ids, once each, are enough, and keep the matrix fast.
            firsts: dict[str, dict[str, Value]] = {}
            for c in combos:
                firsts.setdefault(c["record_id"].whose if "record_id" in c else "-", c)
            firsts.pop("junk", None)
            combos = list(firsts.values())
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for i, chosen in enumerate(combos):
            built = rule.build({k: v.value for k, v in chosen.items()})
            assert built is not None, rule.rule
            path = built[1]
            for j, method in enumerate(methods):
                want = expected(actor, rule.endpoint, permission, method, chosen)
                variants = (False, True)
                refused = any(v.whose in {"B", "junk"} for v in chosen.values())
                if (closed or refused) and len(combos) > 1:
                    # A request turned away (a closed door, B's ids, junk ids) goes
                    # either plain or with HX-Request, alternating from one mix and
                    # method to the next: each route still meets both kinds of
                    # request, in half the time.
                    variants = ((i + j) % 2 == 1,)
                for htmx in variants:
                    response = request_as(app, actor, method, path, htmx=htmx)
                    count += 1
                    whose = ",".join(f"{k}={v.whose}" for k, v in chosen.items())
                    label = f"{method} {rule.rule} [{whose}]{' htmx' if htmx else ''}"
                    problems += check(actor, response, want, label, seen)
                    if method != "GET" and response.status_code < 400:
                        # It may have changed something: start the next one afresh.
                        restore(world)
    return problems, count, seen


def categories_with_pages(world: World) -> set[Category]:
    """Categories that some GET route is about (so their text can show somewhere)."""
    out = set()
    for rule in world.app.url_map.iter_rules():
        permission = permission_of(world, rule)
        if "GET" in rule.methods and permission is not None and RULES[permission].category:
            out.add(RULES[permission].category)
    return out


@pytest.mark.parametrize("actor_name", ACTOR_NAMES)
def test_every_route_answers_each_actor_as_the_permission_table_says(world, actor_name):
    actor = world.actors[actor_name]
    problems, count, seen = run_matrix(world, actor)
    assert count > 100
    assert not problems, f"{len(problems)} problems for {actor_name}:\n" + "\n".join(problems[:60])
    # The leak check has teeth: what the actor may see really was shown somewhere.
    should_see = {c for c in categories_with_pages(world) if actor.sees_in_a(c)}
    assert should_see <= seen, f"{actor_name} never saw A's {sorted(should_see - seen)} text"


def test_the_matrix_covers_every_route_and_every_kind_of_actor(world):
    """A guard on the guard: the matrix really meets every rule and both records."""
    rules = list(world.app.url_map.iter_rules())
    record_rules = [r for r in rules if "record_id" in r.arguments]
    assert record_rules, "no record routes found"
    for rule in record_rules:
        owners = {c["record_id"].whose for c in combinations(world, rule)}
        assert {"A", "B", "junk"} <= owners, rule.rule
    names = set(world.actors)
    assert {"anonymous", "owner", "revoked carer", "another coordinator"} <= names
    assert sum(1 for n in names if n.startswith("carer with")) == 3 + len(Category)


def test_the_marker_text_of_record_b_really_shows_to_its_owner(world):
    """Without this, "B's text never shows" could pass because it was never planted."""
    restore(world)
    owner_b = world.owner_b
    for part in ("plan", "diary", "mood", "symptoms"):
        response = request_as(world.app, owner_b, "GET", f"/records/{world.record_b}/{part}")
        assert response.status_code == 200, part
        assert MARK_B in response.get_data(as_text=True), part


def test_the_marker_check_would_notice_a_leak(world):
    """If a page showed B's text, the check above would fail: prove it on a fake response."""
    from flask import Response

    leak = Response(f"<p>{MARK_B} diary text</p>")
    for header in ("Content-Security-Policy", "X-Content-Type-Options"):
        leak.headers[header] = "x"
    carer = world.actors["carer with no categories"]
    problems = check(carer, leak, 404, "GET /fake")
    assert any("another person's record" in p for p in problems)
    assert any("expected 404" in p for p in problems)
    assert any("missing" in p for p in problems)
    diary_leak = Response(MARK_A[Category.DIARY])
    assert any("diary" in p for p in check(carer, diary_leak, None, "GET /fake"))
