"""Notifications: this device on or off, the devices list, preferences, a test, and the inbox."""

from __future__ import annotations

from datetime import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from .. import notifications, push, records, reminders, settings, sharing
from ..forms.notifications import PreferencesForm
from ..notifications import Kind, Preferences
from ..roles import Permission, Role, requires

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def _form_for(prefs: Preferences) -> PreferencesForm:
    def hm(t: time | None) -> str:
        return t.strftime("%H:%M") if t else ""

    return PreferencesForm(
        data={
            "kinds": [k.value for k in prefs.kinds],
            "checkin_at": hm(prefs.checkin_at),
            "actions_at": hm(prefs.actions_at),
            "lead_minutes": prefs.lead_minutes,
            "quiet_start": hm(prefs.quiet_start),
            "quiet_end": hm(prefs.quiet_end),
            "timezone": prefs.timezone,
            "details": prefs.details,
        }
    )


def _page(form: PreferencesForm, status: int = 200):
    owned = [m for m in sharing.memberships_of_user(current_user.id) if m.role is Role.OWNER]
    names = records.records_by_id({m.record_id for m in owned})
    cfg = current_app.config
    key = push.public_key(push.load_or_create_key(cfg["TRACKER_DATA_DIR"]))
    return render_template(
        "notifications/page.jinja",
        form=form,
        devices=notifications.devices(current_user.id),
        public_key=key,
        owned=[
            (names[m.record_id], settings.get(m.record_id)) for m in owned if m.record_id in names
        ],
    ), status


@bp.route("")
@requires(Permission.SIGNED_IN)
def page():
    return _page(_form_for(notifications.get_preferences(current_user.id)))


@bp.route("/preferences", methods=["POST"])
@requires(Permission.SIGNED_IN)
def save_preferences():
    form = PreferencesForm()
    if not form.validate_on_submit():
        return _page(form, 422)

    def t(value: str) -> time | None:
        return time.fromisoformat(value.zfill(5)) if value else None

    notifications.save_preferences(
        current_user.id,
        Preferences(
            kinds=frozenset(Kind(k) for k in form.kinds.data or []),
            quiet_start=t(form.quiet_start.data),
            quiet_end=t(form.quiet_end.data),
            timezone=form.timezone.data,
            checkin_at=t(form.checkin_at.data),
            actions_at=t(form.actions_at.data) or time(9, 0),
            lead_minutes=form.lead_minutes.data,
            details=bool(form.details.data),
        ),
    )
    flash("Your notification settings have been saved.")
    return redirect(url_for("notifications.page"), code=303)


@bp.route("/devices", methods=["POST"])
@requires(Permission.SIGNED_IN)
def add_device():
    """Called by static/js/push.js with this browser's PushSubscription (JSON)."""
    data = request.get_json(silent=True) or {}
    endpoint = data.get("endpoint")
    keys = data.get("keys") or {}
    cfg = current_app.config
    allowed = push.endpoint_allowed(
        endpoint,
        tuple(cfg["TRACKER_PUSH_ALLOWED_HOSTS"]),
        tuple(cfg.get("TRACKER_PUSH_INSECURE_HOSTS", ())),
    )
    if (
        not allowed
        or not isinstance(keys, dict)
        or not push.valid_keys(str(keys.get("p256dh", "")), str(keys.get("auth", "")))
    ):
        return jsonify(error="This browser's push service is not one we can use."), 400
    label = str(data.get("label") or "")[:80] or "This device"
    try:
        device = notifications.add_device(
            current_user.id,
            endpoint=endpoint,
            p256dh=keys["p256dh"],
            auth=keys["auth"],
            label=label,
        )
    except notifications.TooManyDevices:
        return jsonify(error="You have 10 devices already. Turn one off first."), 400
    return jsonify(id=device.id), 201


@bp.route("/devices/<device_id>/remove", methods=["POST"])
@requires(Permission.SIGNED_IN)
def remove_device(device_id: str):
    if not notifications.remove_device(current_user.id, device_id):
        abort(404)
    flash("Notifications are turned off for that device.")
    return redirect(url_for("notifications.page"), code=303)


TEST_TIMEOUT_SECONDS = 3  # this runs in the request: a slow push service must not hold it


@bp.route("/test", methods=["POST"])
@requires(Permission.SIGNED_IN)
def test():
    try:
        sender = reminders.make_sender(connections=1)
    except push.PushConfigError:
        current_app.logger.exception("push is not configured (TRACKER_VAPID_SUBJECT)")
        flash("Notifications are not set up on this service yet. Please try again later.")
        return redirect(url_for("notifications.page"), code=303)
    sender.timeout = TEST_TIMEOUT_SECONDS
    try:
        stats = reminders.send_test(current_user.id, sender)
    finally:
        sender.close()
    if stats.delivered:
        flash(
            f"A test notification was sent to {stats.delivered} device"
            f"{'s' if stats.delivered != 1 else ''}. It is in your inbox too."
        )
    else:
        flash(
            "The test is in your inbox. No device received it: turn on notifications on "
            "this device first."
        )
    return redirect(url_for("notifications.page"), code=303)


@bp.route("/inbox")
@requires(Permission.SIGNED_IN)
def inbox():
    items = notifications.inbox(current_user.id)
    return render_template("notifications/inbox.jinja", items=items)


@bp.route("/inbox/read", methods=["POST"])
@requires(Permission.SIGNED_IN)
def mark_read():
    notifications.mark_all_read(current_user.id)
    return redirect(url_for("notifications.inbox"), code=303)


@bp.route("/records/<record_id>/warnings-to-carers", methods=["POST"])
@requires(Permission.MANAGE_SHARING, fresh=True)
def warnings_to_carers(record_id: str):
    on = request.form.get("on") == "1"
    settings.set_warnings_to_carers(record_id, on)
    flash(
        "Carers will be told about early warning signs."
        if on
        else "Carers will not be told about early warning signs."
    )
    return redirect(url_for("notifications.page"), code=303)
