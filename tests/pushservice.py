"""A local Web Push service for tests and benchmarks, playing the browser vendor's part.

It listens on 127.0.0.1 (a free port) and behaves like FCM or Mozilla's autopush as far
as the app can tell:

* :meth:`PushService.subscribe` makes a browser-like subscription: its own P-256 key
  pair and 16-byte auth secret, and an endpoint ``http://127.0.0.1:<port>/push/<token>``.
* On POST it checks the request as a real push service must (RFC 8030, 8291, 8292):
  the ``Authorization: vapid t=<jwt>,k=<key>`` header (ES256 signature with ``k``,
  ``aud`` equal to its origin, ``exp`` in the future and at most 24 h away, ``sub`` a
  ``mailto:`` or ``https:`` URL), the ``TTL``, ``Urgency`` and ``Topic`` headers (a
  topic is at most 32 URL-safe base64 characters), ``Content-Encoding: aes128gcm``,
  and answers 413 for a body over 4,096 bytes. It then decrypts the body with the
  subscription's private key (``http_ece``) and records the payload and headers.
* A per-subscription :class:`Mode` makes it answer 404, 410, 413, 429 (with
  ``Retry-After``), 500 or a redirect (any status, with ``location=``), or sleep
  past the client's timeout.
  :meth:`PushService.subscribe_refused` gives a subscription on a closed port.

A request that breaks a rule is answered 400/401/403 and listed in ``problems``, so
a test can assert there were none. The JWT is checked with ``cryptography`` alone
(PyJWT is not installed); a verified token is remembered, as real services cache
them, so a benchmark measures the sender rather than this checker.

The benchmark runs the service in a process of its own (:func:`start_in_process`),
so that it does not share the sender's CPU.
"""

from __future__ import annotations

import base64
import contextlib
import json
import multiprocessing
import os
import re
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_BODY = 4096
MAX_JWT_LIFETIME = 24 * 3600
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
URGENCIES = {"very-low", "low", "normal", "high"}


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Mode:
    """How the service answers one subscription."""

    OK = "ok"
    NOT_FOUND = 404
    GONE = 410
    TOO_LARGE = 413
    TOO_MANY = 429
    ERROR = 500
    SLOW = "slow"  # sleep ``sleep`` seconds, then answer 504 and record nothing


@dataclass
class Browser:
    """One browser's push subscription: what the page would send to the app."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    token: str

    @property
    def p256dh(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64u(raw)

    @property
    def auth_b64(self) -> str:
        return b64u(self.auth)

    def json(self) -> dict[str, Any]:
        """``PushSubscription.toJSON()``."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": self.auth_b64},
        }


@dataclass(frozen=True)
class Received:
    """One message the service accepted, decrypted."""

    token: str
    payload: dict[str, Any]
    raw: bytes  # the decrypted bytes, exactly as sent
    body_len: int  # bytes on the wire
    ttl: str
    urgency: str
    topic: str
    claims: dict[str, Any]
    vapid_key: str  # the ``k=`` of the Authorization header
    authorization: str
    at: float


@dataclass
class _Answer:
    mode: Any = Mode.OK
    retry_after: int | None = None
    sleep: float = 0.0
    location: str | None = None  # for a 3xx mode


@dataclass
class PushService:
    """The service; use as a context manager, or call :meth:`close`."""

    host: str = "127.0.0.1"
    received: list[Received] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    answered: Counter = field(default_factory=Counter)  # (token, status) -> count
    busy_seconds: float = 0.0  # time spent handling POSTs (all threads)
    # Decrypt every message (tests), or 1 in N (a benchmark, so that this service
    # spends less of a small machine's CPU); every message is checked and counted.
    decrypt_every: int = 1

    def __post_init__(self) -> None:
        self._browsers: dict[str, Browser] = {}
        self._answers: dict[str, _Answer] = {}
        self._verified: dict[str, dict[str, Any]] = {}
        self._posts = 0
        self._lock = threading.Lock()
        service = self

        class Handler(_Handler):
            owner = service

        self.server = _Server((self.host, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.origin = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    # -- subscriptions and modes ------------------------------------------------------

    def subscribe(self, mode: Any = Mode.OK, **answer: Any) -> Browser:
        token = secrets.token_urlsafe(12)
        browser = Browser(
            f"{self.origin}/push/{token}",
            ec.generate_private_key(ec.SECP256R1()),
            os.urandom(16),
            token,
        )
        with self._lock:
            self._browsers[token] = browser
            self._answers[token] = _Answer(mode, **answer)
        return browser

    def subscribe_refused(self) -> Browser:
        """A subscription whose endpoint is a closed port: the connection is refused."""
        with socket.socket() as s:
            s.bind((self.host, 0))
            port = s.getsockname()[1]
        token = secrets.token_urlsafe(12)
        return Browser(
            f"http://{self.host}:{port}/push/{token}",
            ec.generate_private_key(ec.SECP256R1()),
            os.urandom(16),
            token,
        )

    def set_mode(self, browser: Browser, mode: Any, **answer: Any) -> None:
        with self._lock:
            self._answers[browser.token] = _Answer(mode, **answer)

    # -- what was received ---------------------------------------------------------------

    def for_(self, browser: Browser) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.token == browser.token]

    def payloads(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.payload for r in self.received]

    def attempts(self, browser: Browser) -> int:
        """Every POST for this subscription, whatever the answer."""
        with self._lock:
            return sum(n for (token, _), n in self.answered.items() if token == browser.token)

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self.answered.clear()

    def stats(self) -> dict[str, Any]:
        """Counts for a benchmark: messages, and any (token, topic) seen twice."""
        with self._lock:
            seen = Counter((r.token, r.topic) for r in self.received)
            return {
                "received": len(self.received),
                "subscriptions_reached": len({r.token for r in self.received}),
                "duplicates": sum(n - 1 for n in seen.values() if n > 1),
                "problems": list(self.problems[:20]),
                "problem_count": len(self.problems),
                "max_body": max((r.body_len for r in self.received), default=0),
                "decrypted": sum(1 for r in self.received if r.raw),
                "max_plaintext": max((len(r.raw) for r in self.received), default=0),
                "busy_seconds": self.busy_seconds,
                "cpu_seconds": time.process_time(),  # this whole process, all threads
            }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> PushService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- checking a request --------------------------------------------------------------

    def _verify_jwt(self, authorization: str) -> tuple[dict[str, Any], str]:
        """The claims of a valid ``vapid t=…,k=…`` header; raises ``ValueError`` if not."""
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"Authorization scheme {scheme!r} is not vapid")
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        token, key = parts.get("t", ""), parts.get("k", "")
        if not token or not key:
            raise ValueError("Authorization lacks t= or k=")
        cached = self._verified.get(authorization)
        if cached is None:
            head_b64, claims_b64, sig_b64 = token.split(".")
            header = json.loads(unb64u(head_b64))
            if header.get("alg") != "ES256":
                raise ValueError(f"JWT alg {header.get('alg')!r} is not ES256")
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64u(key))
            sig = unb64u(sig_b64)
            if len(sig) != 64:
                raise ValueError("ES256 signature is not 64 bytes")
            der = encode_dss_signature(
                int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
            )
            try:
                public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                raise ValueError("JWT signature does not verify") from None
            cached = json.loads(unb64u(claims_b64))
            self._verified[authorization] = cached
        claims = cached
        if claims.get("aud") != self.origin:
            raise ValueError(f"JWT aud {claims.get('aud')!r} is not {self.origin!r}")
        exp, now = claims.get("exp"), time.time()
        if not isinstance(exp, int) or exp <= now or exp > now + MAX_JWT_LIFETIME:
            raise ValueError(f"JWT exp {exp!r} is not within 24 h of now ({int(now)})")
        sub = claims.get("sub", "")
        if not isinstance(sub, str) or not sub.startswith(("mailto:", "https:")):
            raise ValueError(f"JWT sub {sub!r} is not a mailto: or https: URL")
        return dict(claims), key


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (after its timeout) is expected here, not an error."""
        return


class _Handler(BaseHTTPRequestHandler):
    owner: PushService
    protocol_version = "HTTP/1.1"  # keep-alive, as real push services allow

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _reply(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _refuse(self, token: str, status: int, why: str) -> None:
        service = self.owner
        with service._lock:
            service.problems.append(f"{status} {why}")
            service.answered[(token, status)] += 1
        self._reply(status)

    def do_GET(self) -> None:
        if self.path == "/_stats":
            body = json.dumps(self.owner.stats()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self._reply(404)

    def do_POST(self) -> None:
        started = time.perf_counter()
        try:
            self._post()
        finally:
            with self.owner._lock:
                self.owner.busy_seconds += time.perf_counter() - started

    def _post(self) -> None:
        service = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        token = self.path.rsplit("/", 1)[-1]
        with service._lock:
            browser = service._browsers.get(token)
            answer = service._answers.get(token, _Answer())
        if not self.path.startswith("/push/") or browser is None:
            with service._lock:
                service.answered[(token, 404)] += 1
            self._reply(404)
            return
        if answer.mode == Mode.SLOW:
            # The client has given up by now; what it sent is lost, not recorded.
            time.sleep(answer.sleep)
            with service._lock:
                service.answered[(token, 504)] += 1
            with contextlib.suppress(OSError):
                self._reply(504)
            return
        if answer.mode != Mode.OK:
            status = int(answer.mode)
            headers = {}
            if answer.retry_after is not None:
                headers["Retry-After"] = str(answer.retry_after)
            if answer.location is not None:
                headers["Location"] = answer.location
            with service._lock:
                service.answered[(token, status)] += 1
            self._reply(status, headers)
            return
        try:
            claims, key = service._verify_jwt(self.headers.get("Authorization", ""))
        except (ValueError, TypeError, KeyError) as error:
            self._refuse(token, 401, f"bad VAPID: {error}")
            return
        ttl = self.headers.get("TTL")
        urgency = self.headers.get("Urgency")
        topic = self.headers.get("Topic")
        if ttl is None or not ttl.isdigit():
            self._refuse(token, 400, f"TTL header missing or bad: {ttl!r}")
            return
        if urgency not in URGENCIES:
            self._refuse(token, 400, f"Urgency header missing or bad: {urgency!r}")
            return
        if topic is None or not TOPIC.match(topic):
            self._refuse(token, 400, f"Topic header missing or bad: {topic!r}")
            return
        if len(body) > MAX_BODY:
            with service._lock:
                service.answered[(token, 413)] += 1
            self._reply(413)
            return
        if (self.headers.get("Content-Encoding") or "").lower() != "aes128gcm":
            self._refuse(token, 400, "Content-Encoding is not aes128gcm")
            return
        with service._lock:
            service._posts += 1
            decrypt = service._posts % service.decrypt_every == 0
        try:
            raw = b""
            payload: dict[str, Any] = {}
            if decrypt:
                raw = http_ece.decrypt(
                    body,
                    private_key=browser.private_key,
                    auth_secret=browser.auth,
                    version="aes128gcm",
                )
                payload = json.loads(raw)
        except Exception as error:
            self._refuse(token, 400, f"cannot decrypt: {type(error).__name__} {error}")
            return
        received = Received(
            token,
            payload,
            raw,
            len(body),
            ttl,
            urgency,
            topic,
            claims,
            key,
            self.headers.get("Authorization", ""),
            time.time(),
        )
        with service._lock:
            service.received.append(received)
            service.answered[(token, 201)] += 1
        self._reply(201, {"Location": f"{service.origin}/message/{secrets.token_hex(8)}"})


# --- in its own process (benchmarks) -----------------------------------------------------


def _serve_child(count: int, decrypt_every: int, conn: Any) -> None:
    service = PushService(decrypt_every=decrypt_every)
    subs = [service.subscribe().json() for _ in range(count)]
    conn.send({"origin": service.origin, "subscriptions": subs})
    conn.recv()  # wait until told to stop
    service.close()


@dataclass
class RemoteService:
    """A :class:`PushService` in a child process, so it does not share the sender's CPU."""

    origin: str
    subscriptions: list[dict[str, Any]]
    process: Any
    conn: Any

    def stats(self) -> dict[str, Any]:
        import urllib.request

        with urllib.request.urlopen(f"{self.origin}/_stats", timeout=30) as response:  # noqa: S310
            return json.loads(response.read())

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send("stop")
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def start_in_process(count: int, decrypt_every: int = 1) -> RemoteService:
    """Start a push service in a child process with ``count`` browser subscriptions."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve_child, args=(count, decrypt_every, child), daemon=True)
    process.start()
    info = parent.recv()
    return RemoteService(info["origin"], info["subscriptions"], process, parent)


# --- with the app: devices, senders and a household to remind ---------------------------


def use_local_push(app: Any) -> None:
    """Let the app post over plain http to this service on 127.0.0.1 (tests only)."""
    app.config["TRACKER_PUSH_INSECURE_HOSTS"] = ("127.0.0.1",)


def add_browser(app: Any, account_id: str, browser: Browser, label: str = "Phone") -> str:
    """Store ``browser``'s subscription as one of the account's devices; its id."""
    from tracker import notifications

    with app.app_context():
        return notifications.add_device(
            account_id,
            endpoint=browser.endpoint,
            p256dh=browser.p256dh,
            auth=browser.auth_b64,
            label=label,
        ).id


def make_sender(app: Any, **overrides: Any) -> Any:
    """A Sender built exactly as ``reminders.make_sender`` builds it for ``app``."""
    from tracker import reminders

    with app.app_context():
        sender = reminders.make_sender()
    for name, value in overrides.items():
        setattr(sender, name, value)
    return sender


@dataclass
class Household:
    """A person with a record and a goal, a carer and a coordinator on it."""

    app: Any
    owner: str
    carer: str
    coordinator: str
    record: str
    goal: str


def make_household(app: Any, suffix: str = "") -> Household:
    """Made at the current (possibly travelled) time, through the domain modules.

    Everyone's preferences start quiet: no check-in, no quiet hours, every kind on,
    so each test turns on only what it is about.
    """
    from tests.factories import create_goal, create_people
    from tracker import notifications

    people = create_people(app, suffix)
    goal = create_goal(app, people.record_id, by=people.owner_id, outcome="Walk to the park")
    with app.app_context():
        for account_id in (people.owner_id, people.carer_id, people.coordinator_id):
            notifications.save_preferences(
                account_id,
                notifications.Preferences(checkin_at=None, quiet_start=None, quiet_end=None),
            )
    p = people
    return Household(app, p.owner_id, p.carer_id, p.coordinator_id, p.record_id, goal.id)


def local_household(app: Any, created: Any) -> Household:
    """A household made at ``created`` (a datetime), on an app that pushes to this machine."""
    import time_machine

    use_local_push(app)
    with time_machine.travel(created, tick=False):
        return make_household(app)


def plan_yearly_reviews(home: Household, next_review: Any) -> None:
    """The household's plan, begun on 1 December 2026, reviewed yearly, next on ``next_review``."""
    from datetime import date

    from tests.factories import create_plan

    start = date(2026, 12, 1)
    create_plan(
        home.app,
        home.record,
        by=home.owner,
        start_date=start,
        next_review=next_review,
        interval_months=12,
    )


def set_prefs(app: Any, account_id: str, **changes: Any) -> None:
    from dataclasses import replace

    from tracker import notifications

    with app.app_context():
        prefs = notifications.get_preferences(account_id)
        notifications.save_preferences(account_id, replace(prefs, **changes))
