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
* The body is encrypted with pywebpush's ``WebPusher.encode`` (aes128gcm) and
  posted here through one urllib3 pool, so connections to a push service are kept
  (the pool is as large as the number of threads sending) and a redirect is never
  followed: a push service answering 3xx cannot send our POST anywhere else.
  Measured on the 2-core VM (``bench/bench_push.py``), ``requests`` cost ~1.4 ms of
  CPU a message (half of it reading proxy settings from the environment for every
  request) against ~0.6 ms here. Proxy settings (``HTTPS_PROXY``, ``NO_PROXY``)
  are still honoured: they are read once per push-service origin.
* The server must not be made to post anywhere else: endpoints must be https on
  port 443, on a configured allow-list of push services, checked when a
  subscription is made and again at every send.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import getproxies_environment, proxy_bypass_environment

import urllib3
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
TIMEOUT_SECONDS = 10
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
    """The instance's VAPID key, generated once on first use (file mode 0600)."""
    path = _key_path(data_dir)
    if path.exists():
        return Vapid.from_file(str(path))
    return rotate_key(data_dir)


def rotate_key(data_dir: str | os.PathLike[str]) -> Vapid:
    """Make a new key pair, replacing the old one atomically. Existing subscriptions
    were made with the old public key and must be made again."""
    path = _key_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    vapid = Vapid()
    vapid.generate_keys()
    pem = vapid.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return Vapid.from_file(str(path))


def public_key(vapid: Vapid) -> str:
    """The application server key browsers need: the raw P-256 point, base64url."""
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64url(raw)


# --- sending -----------------------------------------------------------------------------


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
        self.pool = urllib3.PoolManager(num_pools=20, maxsize=connections, block=False)
        self._proxies: dict[str, urllib3.PoolManager] = {}
        self._headers: dict[str, tuple[dict[str, str], float]] = {}

    def close(self) -> None:
        self.pool.clear()
        for manager in self._proxies.values():
            manager.clear()

    def _pool_for(self, origin: str) -> urllib3.PoolManager:
        """The direct pool, or a proxy's if the environment names one for this origin."""
        manager = self._proxies.get(origin)
        if manager is None:
            scheme, host = origin.split("://", 1)
            proxy = getproxies_environment().get(scheme)
            if proxy and not proxy_bypass_environment(host.split(":")[0]):
                manager = urllib3.ProxyManager(proxy, num_pools=5, maxsize=self.connections)
            else:
                manager = self.pool
            self._proxies[origin] = manager
        return manager

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
            encrypted = WebPusher(subscription.info()).encode(body, "aes128gcm")["body"]
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
            response = self._pool_for(origin_of(subscription.endpoint)).request(
                "POST",
                subscription.endpoint,
                body=encrypted,
                headers=headers,
                timeout=urllib3.Timeout(total=self.timeout),  # connecting and reading
                retries=False,  # no automatic retries, and no redirects
                redirect=False,
            )
        except (urllib3.exceptions.HTTPError, OSError) as error:  # timeout, refused, reset …
            return Result(Outcome.RETRY, detail=type(error).__name__)
        status = response.status
        if status in (200, 201, 202, 204):
            return Result(Outcome.SENT, status)
        if status in (404, 410):
            return Result(Outcome.GONE, status)
        if status == 429 or status >= 500:
            retry = (response.headers.get("Retry-After") or "").strip()
            return Result(Outcome.RETRY, status, int(retry) if retry.isdigit() else None)
        return Result(Outcome.REJECTED, status)  # 3xx (not followed), 400, 401, 403, 413 …
