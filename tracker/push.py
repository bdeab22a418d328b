"""Web Push transport: VAPID keys, the push-service allow-list, and sending with pywebpush.

Facts measured here (``../shared/DESIGN.md``) that shape this module:

* pywebpush's default ``ttl`` is 0 and it has no default timeout: every send here
  sets ``ttl``, ``Urgency``, a ``Topic`` and a timeout.
* Timeouts and refused connections are not ``WebPushException``s (with
  ``webpush()`` they are ``requests`` exceptions); here every network failure is
  caught and treated as "try again later", like a 5xx.
* ``webpush()`` mutates the claims dict it is given. We never pass one: the VAPID
  header is signed here, once per push-service origin, from a fresh dict, and
  reused until shortly before it expires.
* The body is encrypted by pywebpush (:func:`encrypt`: RFC 8291 in RFC 8188's
  aes128gcm, a fresh ephemeral key and salt for every message; we keep to the
  maintained library rather than our own cryptography, at ~0.02 ms more CPU a
  message than a hand-written version measured here) and posted with
  ``http.client`` on kept-alive connections, one per sending thread and
  push-service origin; a redirect is never followed, so a push service
  answering 3xx cannot send our POST anywhere else. Measured on the 2-core VM
  (``bench/bench_push.py``): ``requests`` cost
  ~1.4 ms of CPU a message (half of it reading proxy settings from the
  environment for every request), urllib3 ~0.5 ms (it writes the headers and the
  body in two system calls), one write with ``http.client`` ~0.3 ms. Proxy
  settings (``HTTPS_PROXY``, ``NO_PROXY``) are honoured with a CONNECT tunnel;
  they are read once per push-service origin.
* The server must not be made to post anywhere else: endpoints must be https on
  port 443, on a configured allow-list of push services, checked when a
  subscription is made and again at every send.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import select
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import getproxies_environment, proxy_bypass_environment

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from pywebpush import WebPusher

DEFAULT_ALLOWED_HOSTS = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.push.apple.com",
    "*.notify.windows.com",
)
MAX_PAYLOAD = 3000  # bytes of JSON; the wire limit is 4,096 and some browsers reject ~3 KB
RECORD_SIZE = 4096  # aes128gcm's record size: the whole message is one record
TIMEOUT_SECONDS = 10
MAX_RESPONSE = 64 * 1024  # bytes of a response body read; a longer one closes the connection
JWT_LIFETIME = 12 * 3600
JWT_REUSE_MARGIN = 3600  # sign again an hour before the token would expire
BAD_SUBJECT_HOSTS = ("localhost",)
BAD_SUBJECT_SUFFIXES = (".local", ".invalid", ".localhost")
TOPIC_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
DEFAULT_PORTS = {"http": 80, "https": 443}


class PushConfigError(ValueError):
    """The push configuration is unusable (for example a subject Apple would reject)."""


def check_subject(subject: str) -> str:
    """The VAPID ``sub`` must be a real mailto: or https: address (Apple rejects the rest)."""
    parts = urlsplit(subject)
    if parts.scheme == "mailto":
        host = subject.partition("@")[2].lower()
    elif parts.scheme == "https":
        host = (parts.hostname or "").lower()
    else:
        raise PushConfigError("TRACKER_VAPID_SUBJECT must start with mailto: or https:")
    if not host or host in BAD_SUBJECT_HOSTS or host.endswith(BAD_SUBJECT_SUFFIXES):
        raise PushConfigError(f"TRACKER_VAPID_SUBJECT host {host!r} is rejected by push services")
    return subject


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and host != pattern[2:]:
                return True
        elif host == pattern:
            return True
    return False


def endpoint_allowed(
    endpoint: str, patterns: tuple[str, ...], insecure_hosts: tuple[str, ...] = ()
) -> bool:
    """True for an https endpoint on port 443 of an allowed push service.

    ``insecure_hosts`` (tests only) lets plain http to named loopback hosts through.
    """
    if not isinstance(endpoint, str) or len(endpoint) > 1000:
        return False
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.username or parts.password or not host:
        return False
    if parts.scheme == "http" and host in insecure_hosts:
        return True
    return parts.scheme == "https" and port in (None, 443) and host_allowed(host, patterns)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def valid_keys(p256dh: str, auth: str) -> bool:
    """A subscription's keys: a P-256 point (65 bytes, on the curve) and a 16-byte secret."""
    try:
        point = _unb64url(p256dh)
        if len(point) != 65 or len(_unb64url(auth)) != 16:
            return False
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, TypeError):
        return False
    return True


@lru_cache(maxsize=16384)
def _receiver_key(p256dh: str) -> ec.EllipticCurvePublicKey:
    """A subscription's public key, parsed and checked to be on the curve once per process."""
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64url(p256dh))


def encrypt(plaintext: bytes, p256dh: str, auth: str) -> bytes:
    """Encrypt one push message for a subscription with pywebpush (RFC 8291, aes128gcm).

    pywebpush (through ``http_ece``) makes a fresh ephemeral P-256 key and salt for
    every message; the whole message is one record (``RECORD_SIZE``). The keys are
    checked first, so a bad subscription raises ``ValueError`` with a plain reason
    rather than whatever the library would raise.
    """
    if len(_unb64url(auth)) != 16:
        raise ValueError("the auth secret is not 16 bytes")
    _receiver_key(p256dh)  # raises ValueError if it is not a point on P-256
    pusher = WebPusher({"endpoint": "", "keys": {"p256dh": p256dh, "auth": auth}})
    return pusher.encode(plaintext, "aes128gcm")["body"]


def origin_of(endpoint: str) -> str:
    """The push service's origin, as the JWT's ``aud`` must name it (no default port)."""
    parts = urlsplit(endpoint)
    scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    if port is None or port == DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


# --- the VAPID key pair, kept with the instance's data ----------------------------------


def _key_path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / "system" / "vapid-private.pem"


def load_or_create_key(data_dir: str | os.PathLike[str]) -> Vapid:
    """The instance's VAPID key, generated once on first use (file mode 0600).

    Two senders starting at once for the first time both make a key, but only the
    first to link its file in place wins, and both then use that one.
    """
    path = _key_path(data_dir)
    if not path.exists():
        _write_new_key(path, replace=False)
    return Vapid.from_file(str(path))


def rotate_key(data_dir: str | os.PathLike[str]) -> Vapid:
    """Make a new key pair, replacing the old one atomically. Existing subscriptions
    were made with the old public key and must be made again."""
    path = _key_path(data_dir)
    _write_new_key(path, replace=True)
    return Vapid.from_file(str(path))


def _write_new_key(path: Path, *, replace: bool) -> None:
    """A new private key, fsynced in a file of its own, then put in place: over the old
    one (``replace``), or only if there is none (a hard link fails if the name exists)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    vapid = Vapid()
    vapid.generate_keys()
    pem = vapid.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-vapid-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def public_key(vapid: Vapid) -> str:
    """The application server key browsers need: the raw P-256 point, base64url."""
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64url(raw)


# --- sending -----------------------------------------------------------------------------


def _closed_by_peer(connection: http.client.HTTPConnection) -> bool:
    """A kept-alive connection the push service has closed meanwhile (it reads as ready)."""
    if connection.sock is None:
        return True
    poller = select.poll()
    poller.register(connection.sock, select.POLLIN)
    return bool(poller.poll(0))


class Outcome(StrEnum):
    SENT = "sent"
    GONE = "gone"  # 404/410: the subscription has expired; delete it
    RETRY = "retry"  # 429, 5xx, timeout, refused connection: try again later
    REJECTED = "rejected"  # other 4xx (for example 413): do not retry this message
    NOT_ALLOWED = "not_allowed"  # the endpoint is not on the allow-list


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    status: int | None = None
    retry_after: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str

    def info(self) -> dict:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class Sender:
    """Sends push messages, reusing connections and one signed header per origin."""

    def __init__(
        self,
        vapid: Vapid,
        subject: str,
        allowed_hosts: tuple[str, ...],
        insecure_hosts: tuple[str, ...] = (),
        timeout: float = TIMEOUT_SECONDS,
        connections: int = 10,
    ) -> None:
        self.vapid = vapid
        self.subject = check_subject(subject)
        self.allowed_hosts = allowed_hosts
        self.insecure_hosts = insecure_hosts
        self.timeout = timeout
        self.connections = connections
        self._tls = ssl.create_default_context()  # certificates and host names checked
        self._lock = threading.Lock()
        self._idle: dict[str, list[http.client.HTTPConnection]] = {}
        self._routes: dict[str, tuple[str, int, str | None]] = {}
        self._headers: dict[str, tuple[dict[str, str], float]] = {}

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _route(self, origin: str) -> tuple[str, int, str | None]:
        """Where to connect for an origin: (host, port, None), or a proxy's host and port
        and the origin's ``host:port`` to tunnel to, if the environment names a proxy."""
        route = self._routes.get(origin)
        if route is None:
            parts = urlsplit(origin)
            host = parts.hostname or ""
            port = parts.port or DEFAULT_PORTS[parts.scheme]
            proxy = getproxies_environment().get(parts.scheme)
            if proxy and not proxy_bypass_environment(host):
                via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
                route = (via.hostname or "", via.port or 80, f"{host}:{port}")
            else:
                route = (host, port, None)
            self._routes[origin] = route
        return route

    def _connection(self, origin: str) -> http.client.HTTPConnection:
        """An idle kept-alive connection to ``origin`` that is still open, or a new one."""
        with self._lock:
            idle = self._idle.get(origin) or []
            while idle:
                connection = idle.pop()
                if not _closed_by_peer(connection):
                    return connection
                connection.close()
        host, port, tunnel = self._route(origin)
        connection: http.client.HTTPConnection
        if origin.startswith("https:"):
            connection = http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=self._tls
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
        if tunnel:
            connection.set_tunnel(tunnel)
        return connection

    def _post(self, endpoint: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """POST on a kept-alive connection: the status and any Retry-After.

        The request goes out in one write (headers and body together), which halves
        the system time of a small message. Redirects are never followed. The
        timeout holds for connecting and for each read and write.
        """
        origin = origin_of(endpoint)
        parts = urlsplit(endpoint)
        connection = self._connection(origin)
        try:
            connection.request(
                "POST", parts.path + (f"?{parts.query}" if parts.query else ""), body, headers
            )
            response = connection.getresponse()
            response.read(MAX_RESPONSE)  # push services answer with an empty body
        except BaseException:
            connection.close()
            raise
        reusable = response.isclosed() and not response.will_close
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            kept = reusable and len(idle) < self.connections
            if kept:
                idle.append(connection)
        if not kept:
            connection.close()
        return response.status, response.getheader("Retry-After") or ""

    def _vapid_headers(self, endpoint: str) -> dict[str, str]:
        origin = origin_of(endpoint)
        cached = self._headers.get(origin)
        now = time.time()
        if cached and cached[1] - JWT_REUSE_MARGIN > now:
            return cached[0]
        expires = int(now) + JWT_LIFETIME
        # A fresh dict every time: py_vapid and pywebpush change the one they are given.
        headers = dict(self.vapid.sign({"sub": self.subject, "aud": origin, "exp": expires}))
        self._headers[origin] = (headers, expires)
        return headers

    def send(
        self, subscription: Subscription, payload: dict, *, ttl: int, urgency: str, topic: str
    ) -> Result:
        """Encrypt and post one message; never raises for network or service failures."""
        if not endpoint_allowed(subscription.endpoint, self.allowed_hosts, self.insecure_hosts):
            return Result(Outcome.NOT_ALLOWED, detail="endpoint not on the allow-list")
        if not 0 < len(topic) <= 32 or not set(topic) <= TOPIC_CHARS:
            return Result(Outcome.REJECTED, detail="topic is not 1-32 URL-safe characters")
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        if len(body) > MAX_PAYLOAD:
            return Result(Outcome.REJECTED, detail="payload too large")
        try:
            encrypted = encrypt(body, subscription.p256dh, subscription.auth)
        except Exception as error:  # bad keys and the like: skip this device, not the run
            return Result(Outcome.REJECTED, detail=type(error).__name__)
        headers = {
            **self._vapid_headers(subscription.endpoint),
            "Content-Type": "application/octet-stream",
            "Content-Encoding": "aes128gcm",
            "TTL": str(int(ttl)),
            "Urgency": urgency,
            "Topic": topic,
        }
        try:
            status, retry = self._post(subscription.endpoint, encrypted, headers)
        except (http.client.HTTPException, OSError) as error:  # timeout, refused, reset …
            return Result(Outcome.RETRY, detail=type(error).__name__)
        if status in (200, 201, 202, 204):
            return Result(Outcome.SENT, status)
        if status in (404, 410):
            return Result(Outcome.GONE, status)
        if status == 429 or status >= 500:
            retry = retry.strip()
            return Result(Outcome.RETRY, status, int(retry) if retry.isdigit() else None)
        return Result(Outcome.REJECTED, status)  # 3xx (not followed), 400, 401, 403, 413 …
