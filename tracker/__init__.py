"""The care plan tracker: a Flask app built only by :func:`create_app`."""

from __future__ import annotations

import logging
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from jinja2 import ChainableUndefined, ChoiceLoader, FileSystemLoader, PackageLoader

from .config import CONFIGS


def create_app(config: str | dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` is a config name or a dict of overrides (tests)."""
    app = Flask(__name__, instance_relative_config=True)
    overrides = config if isinstance(config, dict) else {}
    name = config if isinstance(config, str) else overrides.get("ENV_NAME") or _env_name()
    config_class = CONFIGS[name]
    app.config.from_object(config_class)
    app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True, mode=0o700)
    if not app.config.get("SECRET_KEY") and name != "production":
        app.config["SECRET_KEY"] = _instance_secret(app)
    config_class.validate(app.config)
    app.config["TRACKER_DATA_DIR"] = str(
        Path(app.config.get("TRACKER_DATA_DIR") or Path(app.instance_path) / "data").resolve()
    )

    _init_logging(app)
    _init_storage(app)
    _init_extensions(app)
    _init_jinja(app)
    _init_security(app)
    _init_blueprints(app)
    _init_errors(app)
    _init_cli(app)
    return app


def _env_name() -> str:
    """TRACKER_ENV if set. Otherwise the ``flask`` command (a development tool whose
    server is not for production) means development, and anything else, such as
    gunicorn, means production, which refuses to start without its secrets."""
    if os.environ.get("TRACKER_ENV"):
        return os.environ["TRACKER_ENV"]
    return "development" if os.environ.get("FLASK_RUN_FROM_CLI") == "true" else "production"


def _instance_secret(app: Flask) -> str:
    """Development only: a random key kept in the instance folder across restarts."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        # Several workers may start at once: write the whole key to a temporary file,
        # then link it into place; whoever links first wins, and everyone reads that.
        tmp = path.with_name(f".secret_key-{os.getpid()}-{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def _init_logging(app: Flask) -> None:
    """One line per request on stderr; never bodies, query strings or URL values."""
    logger = logging.getLogger("tracker.request")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    # Werkzeug's own access log prints whole paths, which can hold invitation
    # and calendar tokens; our line logs the route pattern instead.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        ok = 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum()
        g.request_id = incoming if ok else secrets.token_hex(8)

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        ms = (time.perf_counter() - started) * 1000 if started else 0.0
        route = request.url_rule.rule if request.url_rule else "(no route)"
        logger.info(
            "request_id=%s method=%s route=%s status=%s ms=%.1f",
            g.get("request_id", "-"),
            request.method,
            route,
            response.status_code,
            ms,
        )
        response.headers["X-Request-ID"] = g.get("request_id", "-")
        return response


def _init_storage(app: Flask) -> None:
    from .store import Store

    store = Store(app.config["TRACKER_DATA_DIR"])
    removed = store.init()
    if removed:
        app.logger.warning("removed %d leftover temporary files from %s", removed, store.root)
    app.extensions["tracker.store"] = store


def _init_extensions(app: Flask) -> None:
    from . import ratelimit  # noqa: F401 (registers the trackerfile:// limits storage)
    from .auth import init_login
    from .extensions import csrf, htmx, limiter

    if app.config.get("TRACKER_BEHIND_PROXY"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    app.config.setdefault(
        "RATELIMIT_STORAGE_URI", f"trackerfile://{app.config['TRACKER_DATA_DIR']}"
    )
    csrf.init_app(app)
    htmx.init_app(app)
    # The limiter object is module-level and Flask-Limiter defaults "enabled" to its last
    # value: every app says for itself, so an app with limits off (some tests) cannot
    # leave them off for the next app in the same process.
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    init_login(app)


def _init_jinja(app: Flask) -> None:
    from . import presenters

    # The app's own templates first, then nhsuk-frontend-jinja's macros.
    app.jinja_loader = ChoiceLoader(  # type: ignore[assignment]
        [
            FileSystemLoader(Path(__file__).parent / "templates"),
            PackageLoader("nhsuk_frontend_jinja"),
        ]
    )
    # nhsuk-frontend-jinja's macros rely on chained undefined parameters.
    app.jinja_env.undefined = ChainableUndefined
    # Flask escapes only .html/.xml templates by default; ours are .jinja, and
    # everything people type must be escaped.
    app.jinja_env.autoescape = True
    presenters.register(app)


def _init_security(app: Flask) -> None:
    from .security import register

    register(app)


def _init_blueprints(app: Flask) -> None:
    from .views import BLUEPRINTS

    for bp in BLUEPRINTS:
        app.register_blueprint(bp)


def _init_errors(app: Flask) -> None:
    from .errors import register

    register(app)


def _init_cli(app: Flask) -> None:
    from .cli import register

    register(app)
