"""Configuration classes. Production refuses to start without its secrets."""

from __future__ import annotations

import os
from datetime import timedelta


class Config:
    """Production defaults: secure cookies, short sessions, secrets from the environment."""

    ENV_NAME = "production"
    SECRET_KEY: str | None = os.environ.get("TRACKER_SECRET_KEY")
    TRACKER_DATA_DIR: str | None = os.environ.get("TRACKER_DATA_DIR")
    # Only trust X-Forwarded-For / -Proto when a proxy really sits in front of us.
    TRACKER_BEHIND_PROXY = os.environ.get("TRACKER_BEHIND_PROXY", "") == "1"

    SESSION_COOKIE_NAME = "tracker_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    # "Keep me signed in on this phone" uses a permanent cookie of this length;
    # the server-side session record enforces the same limit.
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)
    # A session without "keep me signed in" ends after this long without use …
    TRACKER_SESSION_IDLE = timedelta(minutes=30)
    # … and after this long in any case.
    TRACKER_SESSION_MAX = timedelta(hours=12)
    # Changing sharing, exporting and deleting need a sign-in at most this old.
    TRACKER_FRESH_LOGIN = timedelta(minutes=10)

    # The CSRF token is bound to the session, so it need not expire by the clock:
    # a form left open on a phone for an afternoon should still submit.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = True

    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_STRATEGY = "fixed-window"
    # Sign-in limits: per email address and per client address.
    TRACKER_SIGNIN_LIMIT_ACCOUNT = "5 per 15 minutes"
    TRACKER_SIGNIN_LIMIT_ADDRESS = "20 per 15 minutes"

    # argon2id parameters (argon2-cffi's RFC 9106 low-memory profile).
    TRACKER_ARGON2_TIME_COST = 3
    TRACKER_ARGON2_MEMORY_KIB = 65536
    TRACKER_ARGON2_PARALLELISM = 4

    # Web Push: a real contact address for push services (Apple rejects localhost,
    # .local and .invalid), and the push services the server may post to.
    TRACKER_VAPID_SUBJECT = os.environ.get("TRACKER_VAPID_SUBJECT", "")
    TRACKER_PUSH_ALLOWED_HOSTS = tuple(
        h.strip()
        for h in os.environ.get(
            "TRACKER_PUSH_ALLOWED_HOSTS",
            "fcm.googleapis.com,updates.push.services.mozilla.com,*.push.apple.com,"
            "*.notify.windows.com",
        ).split(",")
        if h.strip()
    )
    TRACKER_PUSH_INSECURE_HOSTS: tuple[str, ...] = ()  # tests only: plain http to loopback

    MAX_CONTENT_LENGTH = 1 * 1024 * 1024
    SEND_FILE_MAX_AGE_DEFAULT = 0

    @classmethod
    def validate(cls, config: dict) -> None:
        """Fail fast on missing secrets and an unusable push subject (production only)."""
        from .push import PushConfigError, check_subject

        if not config.get("SECRET_KEY"):
            raise RuntimeError(
                "TRACKER_SECRET_KEY is not set. Set it to a long random value "
                '(python -c "import secrets; print(secrets.token_urlsafe(48))").'
            )
        try:
            check_subject(config.get("TRACKER_VAPID_SUBJECT", ""))
        except PushConfigError as exc:
            raise RuntimeError(
                f"{exc}. Set it to the address push services can reach you at, "
                "such as mailto:support@your-organisation.nhs.uk."
            ) from None


class DevelopmentConfig(Config):
    """Local development and the demo: plain http on localhost."""

    ENV_NAME = "development"
    SESSION_COOKIE_SECURE = False
    TRACKER_VAPID_SUBJECT = os.environ.get(
        "TRACKER_VAPID_SUBJECT", "mailto:care-plan-tracker@example.org"
    )
    WTF_CSRF_SSL_STRICT = False

    @classmethod
    def validate(cls, config: dict) -> None:  # a secret is generated into the instance folder
        return None


class TestConfig(DevelopmentConfig):
    """Fast hashing for tests; everything else as in development."""

    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105 (tests only)
    TRACKER_ARGON2_TIME_COST = 1
    TRACKER_ARGON2_MEMORY_KIB = 1024
    TRACKER_ARGON2_PARALLELISM = 1


CONFIGS = {"production": Config, "development": DevelopmentConfig, "test": TestConfig}
