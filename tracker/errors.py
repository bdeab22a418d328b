"""Error pages in plain English. A 500 is logged with its traceback, never shown."""

from __future__ import annotations

from flask import Flask, g, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .store import StoreError

MESSAGES = {
    400: ("Sorry, there is a problem with that request", "Go back and try again."),
    404: (
        "Page not found",
        "If you typed the web address, check it is correct. "
        "If you pasted the web address, check you copied the entire address.",
    ),
    405: ("Sorry, there is a problem with that request", "Go back and try again."),
    413: ("That is too large to send", "Make it shorter and try again."),
    429: ("Too many attempts", "You have tried too many times. Wait 15 minutes, then try again."),
    500: (
        "Sorry, there is a problem with the service",
        "Try again later. What you entered has not been saved.",
    ),
}


def _page(code: int, title: str | None = None, body: str | None = None):
    default_title, default_body = MESSAGES.get(code, MESSAGES[400])
    return render_template(
        "errors/page.jinja", title=title or default_title, body=body or default_body, code=code
    ), code


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return _page(
            400,
            "This page has expired",
            "For your security, the form could not be sent. "
            "Go back, reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        return _page(error.code or 500)

    @app.errorhandler(StoreError)
    def _store(error: StoreError):
        app.logger.error("storage error request_id=%s: %s", g.get("request_id", "-"), error)
        return _page(500)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error request_id=%s", g.get("request_id", "-"))
        return _page(500)
