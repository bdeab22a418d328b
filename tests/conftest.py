"""Shared fixtures: a fresh app on a temporary data folder, clients signed in as each role."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import BytecodeCache

from tracker import create_app
from tracker.store import clear_cache

PASSWORD = "correct horse battery"


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


@dataclass
class People:
    """Accounts and a record to act on, made through the domain modules."""

    app: Flask
    owner_id: str
    record_id: str
    carer_id: str
    coordinator_id: str


def make_account(app: Flask, email: str, name: str, *, coordinator: bool = False):
    from tracker import accounts

    with app.app_context():
        return accounts.create_account(email, name, PASSWORD, is_coordinator=coordinator)


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
    from tracker import records, sharing
    from tracker.roles import Role

    owner = make_account(app, "owner@example.com", "Olive Owner")
    carer = make_account(app, "carer@example.com", "Cara Carer")
    coord = make_account(app, "coord@example.com", "Cody Coordinator", coordinator=True)
    with app.app_context():
        record = records.create_record("Olive Owner", created_by=owner.id, owner_id=owner.id)
        sharing.add_member(record.id, owner.id, Role.OWNER)
        sharing.add_member(record.id, carer.id, Role.CARER)
        sharing.add_member(record.id, coord.id, Role.COORDINATOR)
    return People(app, owner.id, record.id, carer.id, coord.id)
