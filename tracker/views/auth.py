"""Sign in, sign up, sign out, account settings and "your devices"."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import accounts, sessions
from ..auth import sign_in as start_signed_in
from ..auth import sign_out as end_signed_in
from ..extensions import limiter
from ..forms.auth import ChangePasswordForm, ConfirmPasswordForm, SignInForm, SignUpForm
from ..roles import Permission, requires
from ..web import safe_next

bp = Blueprint("auth", __name__)

SIGN_IN_FAILED = "Your email address or password is not right. Check them and try again."


def _account_key() -> str:
    return "account:" + accounts.normalise_email(str(request.form.get("email", "")))[:254]


def _failed(response) -> bool:
    # Only failed attempts count towards the limits; success redirects (303).
    return response.status_code != 303


@bp.route("/sign-in", methods=["GET", "POST"])
@requires(Permission.PUBLIC)
@limiter.limit(lambda: _cfg("TRACKER_SIGNIN_LIMIT_ADDRESS"), methods=["POST"], deduct_when=_failed)
@limiter.limit(
    lambda: _cfg("TRACKER_SIGNIN_LIMIT_ACCOUNT"),
    methods=["POST"],
    key_func=_account_key,
    deduct_when=_failed,
)
def sign_in():
    form = SignInForm()
    next_url = safe_next(request.args.get("next"), url_for("home.index"))
    if form.validate_on_submit():
        account = accounts.check_credentials(form.email.data, form.password.data)
        if account is not None:
            start_signed_in(account, remember=bool(form.remember.data))
            return redirect(next_url, code=303)
        form.form_errors.append(SIGN_IN_FAILED)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/sign_in.jinja", form=form), status


def _cfg(name: str) -> str:
    from flask import current_app

    return current_app.config[name]


@bp.route("/sign-up", methods=["GET", "POST"])
@requires(Permission.PUBLIC)
@limiter.limit(lambda: _cfg("TRACKER_SIGNIN_LIMIT_ADDRESS"), methods=["POST"], deduct_when=_failed)
def sign_up():
    form = SignUpForm()
    next_url = safe_next(request.args.get("next"), url_for("home.index"))
    if form.validate_on_submit():
        try:
            account = accounts.create_account(form.email.data, form.name.data, form.password.data)
        except accounts.EmailTaken:
            # Do not confirm that the address has an account.
            form.form_errors.append(
                "We could not create an account with those details. "
                "If you already have an account, sign in."
            )
        else:
            start_signed_in(account, remember=False)
            return redirect(next_url, code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/sign_up.jinja", form=form), status


@bp.route("/sign-out", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
def sign_out():
    if request.method == "GET":
        return render_template("auth/sign_out.jinja")
    end_signed_in(current_user._get_current_object())
    flash("You have signed out.")
    return redirect(url_for("auth.sign_in", **{"signed-out": "1"}), code=303)


# Both pages that check the current password share one limit. Without it, a
# signed-in session left open (a lost phone, a shared laptop) could guess the
# password on the change-password page without end, then take the account.
password_checks = limiter.shared_limit(
    lambda: _cfg("TRACKER_SIGNIN_LIMIT_ACCOUNT"),
    scope="password-check",
    methods=["POST"],
    key_func=lambda: "password-check:" + current_user.id,
    deduct_when=_failed,
)


@bp.route("/account/confirm-password", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
@password_checks
def confirm_password():
    form = ConfirmPasswordForm()
    next_url = safe_next(request.args.get("next"), url_for("auth.account"))
    if form.validate_on_submit():
        if accounts.check_credentials(current_user.account.email, form.password.data):
            sessions.mark_fresh(current_user.session.id)
            return redirect(next_url, code=303)
        form.password.errors = [*form.password.errors, "Your password is not right. Try again."]
    status = 422 if request.method == "POST" else 200
    return render_template("auth/confirm_password.jinja", form=form), status


@bp.route("/account")
@requires(Permission.SIGNED_IN)
def account():
    return render_template("auth/account.jinja")


@bp.route("/account/password", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
@password_checks
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if accounts.check_credentials(current_user.account.email, form.current.data) is None:
            form.current.errors = [*form.current.errors, "Your current password is not right"]
        else:
            accounts.change_password(current_user.id, form.password.data)
            ended = sessions.end_all_sessions(current_user.id, keep=current_user.session.id)
            flash(
                f"Your password has been changed. You have been signed out on {ended} other "
                f"device{'s' if ended != 1 else ''}."
            )
            return redirect(url_for("auth.account"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/change_password.jinja", form=form), status


@bp.route("/account/devices")
@requires(Permission.SIGNED_IN)
def devices():
    return render_template(
        "auth/devices.jinja",
        devices=sessions.list_sessions(current_user.id),
        this_device=current_user.session.id,
    )


@bp.route("/account/devices/<session_id>/sign-out", methods=["POST"])
@requires(Permission.SIGNED_IN)
def sign_out_device(session_id: str):
    if session_id == current_user.session.id:
        end_signed_in(current_user._get_current_object())
        return redirect(url_for("auth.sign_in", **{"signed-out": "1"}), code=303)
    if not sessions.end_session_by_id(current_user.id, session_id):
        abort(404)
    flash("That device has been signed out.")
    return redirect(url_for("auth.devices"), code=303)
