"""The app under gunicorn with three worker processes, hit from many clients at once.

Each worker is a separate process with its own caches, so anything kept only in
one process's memory (a session, a cached file, a next id) shows up here as a
client that is signed out by one worker and signed in by another, or as a lost
account. Gunicorn's access log records which worker (pid) served each request,
and the tests keep going until every worker has served every client, so "honoured
by every worker" is checked, not assumed.
"""

from __future__ import annotations

import copy
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.browser.liveserver import LiveServer, load_demo, start_gunicorn
from tracker.demo import DEMO_PASSWORD, DEMO_USERS
from tracker.store import Store

pytestmark = pytest.mark.slow

WORKERS = 3
CLIENTS = 6
SIGN_UPS = 8
# Keep asking until every worker has served every client, but never forever.
MAX_ROUNDS = 20
TODAY_URL = re.compile(r"/records/[a-z0-9]+/today$")
TODAY_HEADING = re.compile(r"<h1[^>]*>\s*Today,")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("multiworker")
    load_demo(root / "data")
    server = start_gunicorn(root / "data", root / "logs", workers=WORKERS)
    try:
        yield server
    finally:
        server.stop()
    problems = server.problems()
    assert not problems, "gunicorn logged errors:\n" + "\n".join(problems)


# --- a small HTTP client with its own cookie jar ------------------------------------


@dataclass
class Response:
    status: int
    url: str
    location: str
    text: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    """One browser's worth of cookies. Every request is tagged so the access log
    shows which worker served which client."""

    def __init__(self, base_url: str, name: str, jar: CookieJar | None = None) -> None:
        self.base = base_url
        self.name = name
        self.jar = jar if jar is not None else CookieJar()
        cookies = urllib.request.HTTPCookieProcessor(self.jar)
        self._follow = urllib.request.build_opener(cookies)
        self._stay = urllib.request.build_opener(cookies, _NoRedirect)

    def copy(self, name: str) -> Client:
        """Another client holding a copy of this one's cookies (a stolen cookie)."""
        jar = CookieJar()
        for cookie in self.jar:
            jar.set_cookie(copy.copy(cookie))
        return Client(self.base, name, jar)

    def request(
        self, path: str, data: dict[str, str] | None = None, *, follow: bool = True
    ) -> Response:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(  # noqa: S310 (always http://127.0.0.1)
            self.base + path, data=body, headers={"X-Test-Client": self.name}
        )
        opener = self._follow if follow else self._stay
        try:
            with opener.open(req, timeout=60) as r:
                return Response(r.status, r.url, r.headers.get("Location", ""), r.read().decode())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.url, e.headers.get("Location", ""), e.read().decode())

    def get(self, path: str, **kwargs) -> Response:
        return self.request(path, **kwargs)

    def post_form(self, form_path: str, data: dict[str, str], post_path: str = "") -> Response:
        """GET the form for its CSRF token, then POST it (following the redirect)."""
        page = self.get(form_path)
        match = CSRF.search(page.text)
        assert match, f"no CSRF token on {form_path} ({page.status} {page.url})"
        return self.request(post_path or form_path, {**data, "csrf_token": match.group(1)})

    def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> Response:
        return self.post_form("/sign-in", {"email": email, "password": password})


def in_parallel(calls: Iterable[Callable[[], object]], threads: int = 12) -> list:
    """Run the calls at once; return their results in order (re-raising any error)."""
    calls = list(calls)
    with ThreadPoolExecutor(max_workers=min(threads, len(calls))) as pool:
        return [f.result() for f in [pool.submit(c) for c in calls]]


def pids_by_client(server: LiveServer, path: re.Pattern[str], status: str) -> dict[str, set]:
    """Which worker pids served each client's requests to ``path`` with ``status`` (a regex)."""
    served: dict[str, set] = defaultdict(set)
    for pid, _method, url, code, client in server.access_lines():
        if path.search(url) and re.fullmatch(status, code):
            served[client.strip()].add(pid.strip("<>"))
    return served


def until_every_worker_served(
    server: LiveServer,
    clients: list[Client],
    one_request: Callable[[Client], None],
    path: re.Pattern[str],
    status: str,
) -> dict[str, set]:
    """Send rounds of concurrent requests until each worker has served each client."""
    workers = server.worker_pids()
    assert len(workers) == WORKERS, server.log()
    served: dict[str, set] = {}
    for _ in range(MAX_ROUNDS):
        in_parallel([lambda c=c: one_request(c) for c in clients for _ in range(WORKERS * 2)])
        served = pids_by_client(server, path, status)
        if all(workers <= served.get(c.name, set()) for c in clients):
            break
    missing = {c.name: sorted(workers - served.get(c.name, set())) for c in clients}
    assert not any(missing.values()), f"workers never reached: {missing}"
    return served


def path_of(url: str) -> str:
    return urllib.parse.urlsplit(url).path


def expect_today(response: Response) -> None:
    assert response.status == 200, (response.status, response.url)
    assert TODAY_URL.search(path_of(response.url)), response.url
    assert TODAY_HEADING.search(response.text), response.text[:500]


# --- the tests ----------------------------------------------------------------------


def test_a_session_started_in_one_worker_is_honoured_by_every_worker(server: LiveServer) -> None:
    clients = [Client(server.url, f"person-{i}") for i in range(CLIENTS)]
    for response in in_parallel([lambda c=c: c.sign_in(DEMO_USERS["person"]) for c in clients]):
        expect_today(response)

    def home(client: Client) -> None:
        expect_today(client.get("/"))

    until_every_worker_served(server, clients, home, re.compile(r"^/$"), "30[23]")

    # Each sign-in happened in one worker; all the others honoured it.
    signed_in_by = pids_by_client(server, re.compile(r"^/sign-in$"), "30[23]")
    assert all(len(signed_in_by[c.name]) == 1 for c in clients), signed_in_by
    assert not server.problems()


def test_a_copied_cookie_is_refused_by_every_worker_after_sign_out(server: LiveServer) -> None:
    victim = Client(server.url, "victim")
    expect_today(victim.sign_in(DEMO_USERS["person"]))
    today = path_of(victim.get("/").url)
    thief = victim.copy("thief")
    other_device = Client(server.url, "other-device")
    expect_today(other_device.sign_in(DEMO_USERS["person"]))

    # Before sign-out the copy works: otherwise this test would prove nothing.
    expect_today(thief.get(today))

    signed_out = victim.post_form("/sign-out", {})
    assert signed_out.status == 200 and path_of(signed_out.url) == "/sign-in", signed_out
    assert "You have signed out." in signed_out.text

    def refused(client: Client) -> None:
        response = client.get(today, follow=False)
        assert response.status in (302, 303), (response.status, response.text[:300])
        assert path_of(response.location) == "/sign-in", response.location

    until_every_worker_served(server, [thief], refused, TODAY_URL, "30[23]")
    for response in in_parallel([lambda: thief.get("/") for _ in range(WORKERS * 2)]):
        assert path_of(response.url) == "/sign-in", response.url
        assert not TODAY_HEADING.search(response.text)

    # Signing out on one phone leaves the same person's other sessions alone.
    def still_signed_in(client: Client) -> None:
        expect_today(client.get(today))

    until_every_worker_served(server, [other_device], still_signed_in, TODAY_URL, "200")
    assert not server.problems()


def test_concurrent_sign_ups_create_exactly_one_account_each(server: LiveServer) -> None:
    store = Store(server.data_dir)
    before = {a["email"] for a in store.read("system/accounts").all("accounts")}
    people = [Client(server.url, f"new-{i}") for i in range(SIGN_UPS)]
    barrier = threading.Barrier(SIGN_UPS)

    def sign_up(i: int, client: Client) -> Response:
        form = client.get("/sign-up")
        token = CSRF.search(form.text)
        assert token, form.text[:300]
        barrier.wait(timeout=60)  # all the POSTs leave together
        return client.request(
            "/sign-up",
            {
                "csrf_token": token.group(1),
                "name": f"New Person {i}",
                "email": f"new.person.{i}@example.com",
                "password": "a long enough password",
                "confirm": "a long enough password",
            },
        )

    results = in_parallel([lambda i=i, c=c: sign_up(i, c) for i, c in enumerate(people)])
    for response in results:
        # Signed in, with no record yet: the "start" page.
        assert response.status == 200 and path_of(response.url) == "/start", response

    after = store.read("system/accounts").all("accounts")
    emails = [a["email"] for a in after]
    assert len(emails) == len(set(emails)), "duplicate email addresses"
    assert len({a["id"] for a in after}) == len(after), "duplicate account ids"
    assert set(emails) - before == {f"new.person.{i}@example.com" for i in range(SIGN_UPS)}
    assert len(after) == len(before) + SIGN_UPS
    assert store.check_all() == []
    assert not server.problems()


def test_concurrent_sign_ups_with_one_email_address_make_one_account(server: LiveServer) -> None:
    store = Store(server.data_dir)
    count = len(store.read("system/accounts").all("accounts"))
    racers = [Client(server.url, f"racer-{i}") for i in range(WORKERS * 2)]
    barrier = threading.Barrier(len(racers))

    def sign_up(client: Client) -> Response:
        token = CSRF.search(client.get("/sign-up").text)
        assert token
        barrier.wait(timeout=60)
        return client.request(
            "/sign-up",
            {
                "csrf_token": token.group(1),
                "name": client.name,
                "email": "same.person@example.com",
                "password": "a long enough password",
                "confirm": "a long enough password",
            },
        )

    results = in_parallel([lambda c=c: sign_up(c) for c in racers])
    won = [r for r in results if r.status == 200 and path_of(r.url) == "/start"]
    lost = [r for r in results if r.status == 422]
    assert len(won) == 1, [(r.status, r.url) for r in results]
    assert len(lost) == len(racers) - 1, [(r.status, r.url) for r in results]
    assert all("could not create an account" in r.text for r in lost)
    accounts = store.read("system/accounts").all("accounts")
    assert [a["email"] for a in accounts].count("same.person@example.com") == 1
    assert len(accounts) == count + 1
    assert store.check_all() == []
    assert not server.problems()


def test_the_data_folder_is_readable_after_all_that(server: LiveServer) -> None:
    assert Store(server.data_dir).check_all() == []
    assert Path(server.data_dir, "system", "accounts.json").exists()
