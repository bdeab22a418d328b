"""Flask-Login wiring: the signed-in user is an account plus a live server-side session.

Flask-Login's own "remember me" cookie and session protection are not used: the
remember cookie cannot be revoked, and "strong" protection trusts a forged
``X-Forwarded-For``. Instead the session cookie holds ``<account id>:<token>``
and every request checks the token against ``sessions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request, session, url_for
from flask_login import UserMixin, login_user, logout_user

from . import accounts, sessions
from .extensions import login_manager


@dataclass
class CurrentUser(UserMixin):
    account: accounts.Account
    session: sessions.Session
    token: str

    def get_id(self) -> str:
        return f"{self.account.id}:{self.token}"

    @property
    def id(self) -> str:  # type: ignore[override]
        return self.account.id

    @property
    def name(self) -> str:
        return self.account.name


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = None
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(user_id: str) -> CurrentUser | None:
        account_id, _, token = user_id.partition(":")
        if not token:
            return None
        live = sessions.load_session(account_id, token)
        if live is None:
            return None
        account = accounts.get_account(account_id)
        return CurrentUser(account, live, token) if account else None

    @login_manager.unauthorized_handler
    def unauthorized():
        from .web import hx_redirect

        return hx_redirect(url_for("auth.sign_in"))


def sign_in(account: accounts.Account, *, remember: bool) -> None:
    """Start a server-side session and put its token in the (signed) session cookie."""
    session.clear()  # a fresh cookie: nothing from before sign-in carries over
    token, live = sessions.start_session(
        account.id, remember=remember, user_agent=request.headers.get("User-Agent", "")
    )
    session.permanent = remember
    login_user(CurrentUser(account, live, token), remember=False)


def sign_out(user: CurrentUser) -> None:
    """End the server-side session so a copy of the cookie is worthless."""
    sessions.end_session_by_id(user.account.id, user.session.id)
    logout_user()
    session.clear()
