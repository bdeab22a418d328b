"""Every route declares what it needs, and every URL is kebab-case.

Routes are read from ``app.url_map``, so a route added later is checked too. The
checks are plain functions, and the last tests prove they catch a bad route.
"""

from __future__ import annotations

import re

from flask import Flask

from tracker.roles import RULES, Permission, Scope, requires

from .helpers_security import static_parts

KEBAB = re.compile(r"^[a-z0-9/.\-]*$")


def routes_without_requires(app: Flask) -> list[str]:
    """Rules (other than Flask's own ``static``) whose view lacks ``@requires``."""
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        if not isinstance(getattr(view, "required_permission", None), Permission):
            missing.append(rule.rule)
    return missing


def routes_not_kebab_case(app: Flask) -> list[str]:
    """Rules whose fixed parts hold capitals, underscores or anything but a-z, 0-9, - . /"""
    return [r.rule for r in app.url_map.iter_rules() if not KEBAB.match(static_parts(r))]


def record_routes_without_record_id(app: Flask) -> list[str]:
    """A record permission on a route without ``<record_id>`` could never be granted."""
    out = []
    for rule in app.url_map.iter_rules():
        permission = getattr(app.view_functions[rule.endpoint], "required_permission", None)
        record_scoped = permission and RULES[permission].scope is Scope.RECORD
        if record_scoped and "record_id" not in rule.arguments:
            out.append(rule.rule)
    return out


def test_every_route_has_a_view_that_declares_its_permission(app):
    assert len(list(app.url_map.iter_rules())) > 10
    assert routes_without_requires(app) == []


def test_every_url_is_kebab_case(app):
    assert routes_not_kebab_case(app) == []


def test_every_record_permission_is_on_a_route_that_names_the_record(app):
    assert record_routes_without_record_id(app) == []


def test_every_permission_in_use_is_in_the_one_table(app):
    for rule in app.url_map.iter_rules():
        permission = getattr(app.view_functions[rule.endpoint], "required_permission", None)
        assert permission is None or permission in RULES, rule.rule


def test_the_checks_catch_a_route_without_requires_or_in_the_wrong_case(app):
    """The checks above can fail: a bad route added to a fresh app is reported."""
    bad = Flask("bad")
    bad.add_url_rule("/Records/<record_id>/my_page", "plain", lambda record_id: "")

    @requires(Permission.VIEW_PLAN)
    def needs_a_record():
        return ""

    bad.add_url_rule("/looks-fine", "no_record", needs_a_record)
    assert routes_without_requires(bad) == ["/Records/<record_id>/my_page"]
    assert routes_not_kebab_case(bad) == ["/Records/<record_id>/my_page"]
    assert record_routes_without_record_id(bad) == ["/looks-fine"]


def test_url_parameters_may_use_underscores_but_fixed_parts_may_not():
    from werkzeug.routing import Rule

    assert static_parts(Rule("/records/<record_id>/who-has-looked")) == "/records//who-has-looked"
    assert KEBAB.match(static_parts(Rule("/records/<record_id>/who-has-looked")))
    assert not KEBAB.match(static_parts(Rule("/records/<record_id>/who_has_looked")))
