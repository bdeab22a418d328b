"""Shared fixtures: a fresh app on a temporary data folder, clients signed in as each role."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import BytecodeCache

from tracker import clock, create_app
from tracker.store import clear_cache

from .factories import PASSWORD, People, create_account, create_people


class _MemoryBytecodeCache(BytecodeCache):
    """Compiled templates shared by every test app: compiling them is most of a new app's cost."""

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = _MemoryBytecodeCache()


@pytest.fixture
def app(tmp_path) -> Iterator[Flask]:
    clear_cache()
    app = create_app(
        {"ENV_NAME": "test", "TRACKER_DATA_DIR": str(tmp_path / "data"), "WTF_CSRF_ENABLED": True}
    )
    app.instance_path = str(tmp_path / "instance")
    app.jinja_env.bytecode_cache = TEMPLATES
    yield app
    clear_cache()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(client: FlaskClient, path: str = "/sign-in") -> str:
    """Fetch a page and read the CSRF token it carries."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post(
    client: FlaskClient,
    path: str,
    data: dict | None = None,
    *,
    token_from: str | None = None,
    **kwargs,
):
    """POST with a valid CSRF token taken from ``token_from`` (default: the sign-in page)."""
    body = dict(data or {})
    body["csrf_token"] = csrf_token(client, token_from or "/sign-in")
    return client.post(path, data=body, **kwargs)


def send(client: FlaskClient, path: str, data: dict | None = None, **kwargs):
    """POST with the session's CSRF token (fetched once per client), leaving out ``None`` fields."""
    token = getattr(client, "_csrf_token", None)
    if token is None:
        token = csrf_token(client, "/sign-in")
        client._csrf_token = token  # type: ignore[attr-defined]
    body = {k: v for k, v in (data or {}).items() if v is not None}
    body["csrf_token"] = token
    return client.post(path, data=body, **kwargs)


def make_account(app: Flask, email: str, name: str, *, coordinator: bool = False):
    """An account with the shared test password (see ``factories.create_account``)."""
    return create_account(app, email, name, coordinator=coordinator)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, remember: bool = False):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return post(client, "/sign-in", data)


@pytest.fixture
def login_as(app: Flask) -> Callable[[str], FlaskClient]:
    """A new client signed in as the account with that email address."""

    def make(email: str, password: str = PASSWORD) -> FlaskClient:
        c = app.test_client()
        response = sign_in(c, email, password)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return c

    return make


@pytest.fixture
def people(app: Flask) -> People:
    """An owner with a record, a carer and a coordinator on it (default categories)."""
    return create_people(app)


@pytest.fixture
def owner(login_as, people: People) -> FlaskClient:
    """A client signed in as the person who owns ``people``'s record."""
    return login_as("owner@example.com")


@pytest.fixture
def carer(login_as, people: People) -> FlaskClient:
    """A client signed in as the carer on ``people``'s record."""
    return login_as("carer@example.com")


@pytest.fixture
def coordinator(login_as, people: People) -> FlaskClient:
    """A client signed in as the coordinator on ``people``'s record."""
    return login_as("coord@example.com")


# --- reading responses and data files --------------------------------------------------


def url(people: People, suffix: str = "") -> str:
    """A path under ``people``'s record."""
    return f"/records/{people.record_id}{suffix}"


def text_of(response) -> str:
    """The response body as text, HTML entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def assert_problem(response, message: str) -> None:
    """A 422 with the NHS error summary naming the problem."""
    body = text_of(response)
    assert response.status_code == 422, (response.status_code, body[:300])
    assert "There is a problem" in body
    summary = body[body.index("nhsuk-error-summary") :]
    assert message in summary, f"{message!r} not in the error summary"


def stored(app: Flask, record_id: str) -> dict[str, object]:
    """Every data file of the record (not its access trail), parsed."""
    root = Path(app.config["TRACKER_DATA_DIR"]) / "records" / record_id
    return {
        str(p.relative_to(root)): json.loads(p.read_bytes())
        for p in sorted(root.rglob("*.json"))
        if not p.name.startswith((".tmp-", "audit-"))
    }


def date_parts(name: str, d: date | None = None, **parts: str) -> dict[str, str]:
    """The day, month and year fields of a date input (blank unless given)."""
    values = {"day": "", "month": "", "year": ""}
    if d is not None:
        values = {"day": str(d.day), "month": str(d.month), "year": str(d.year)}
    values.update(parts)
    return {f"{name}[{p}]": v for p, v in values.items()}


class Clock:
    """tracker.clock.now under a test's control (set it before anyone signs in)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
        self.at = at
        monkeypatch.setattr(clock, "now", lambda: self.at)

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)

    def set(self, at: datetime) -> None:
        self.at = at
