"""The person's "Your data" page: download everything, the calendar feed, FHIR, deletion."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, make_response, redirect, request, url_for

from .. import calendar_feed, exports
from ..extensions import limiter
from ..forms.data import CalendarLinkForm, CalendarWordingForm
from ..roles import Permission, requires
from ..web import download, render

bp = Blueprint("data", __name__)

# Calendar apps poll every 15 minutes to a few hours; a guesser gets few tries.
FEED_LIMIT_PER_ADDRESS = "30 per hour"
FEED_LIMIT_PER_LINK = "120 per hour"
FEED_MAX_AGE_SECONDS = 900


def _feed_links(record_id: str, settings: calendar_feed.FeedSettings) -> dict[str, str] | None:
    if settings.secret is None:
        return None
    token = calendar_feed.token_for(record_id, settings.secret)
    url = url_for("data.calendar_feed", token=token, _external=True)
    return {"url": url, "webcal": "webcal://" + url.split("://", 1)[1]}


def _page(wording_form: CalendarWordingForm | None = None, status: int = 200):
    record_id = g.record.id
    settings = calendar_feed.get_settings(record_id)
    if wording_form is None:
        wording_form = CalendarWordingForm(
            formdata=None, wording="yes" if settings.include_wording else "no"
        )
    return render(
        "data/page.jinja",
        status=status,
        wording_form=wording_form,
        feed=_feed_links(record_id, settings),
        include_wording=settings.include_wording,
    )


def _back(message: str):
    flash(message)
    return redirect(url_for("data.page", record_id=g.record.id) + "#calendar", code=303)


@bp.route("/records/<record_id>/your-data")
@requires(Permission.EXPORT_DATA)
def page(record_id: str):
    return _page()


@bp.route("/records/<record_id>/export/json")
@requires(Permission.EXPORT_DATA, fresh=True)
def export_json(record_id: str):
    return download(
        exports.export_bytes(record_id), exports.MEDIA_TYPE, exports.export_filename(record_id)
    )


@bp.route("/records/<record_id>/your-data/calendar-link", methods=["POST"])
@requires(Permission.MANAGE_CALENDAR, fresh=True)
def reset_calendar(record_id: str):
    if not CalendarLinkForm().validate_on_submit():
        abort(400)
    started = calendar_feed.get_settings(record_id).enabled
    calendar_feed.reset_token(record_id)
    if started:
        return _back("Your calendar has a new link. The old link no longer works.")
    return _back("Your calendar link is ready. Add it to your phone's calendar.")


@bp.route("/records/<record_id>/your-data/calendar-link/off", methods=["POST"])
@requires(Permission.MANAGE_CALENDAR)
def turn_off_calendar(record_id: str):
    if not CalendarLinkForm().validate_on_submit():
        abort(400)
    calendar_feed.turn_off(record_id)
    return _back("Your calendar link has been turned off. It no longer works.")


@bp.route("/records/<record_id>/your-data/calendar-wording", methods=["POST"])
@requires(Permission.MANAGE_CALENDAR)
def calendar_wording(record_id: str):
    form = CalendarWordingForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    calendar_feed.set_wording(record_id, form.include_wording)
    if form.include_wording:
        return _back("Your calendar will show what each action is.")
    return _back('Your calendar will say only "Care plan action".')


def _missed(response) -> bool:
    return response.status_code == 404


def _token_key() -> str:
    return "calendar:" + str((request.view_args or {}).get("token", ""))[:128]


@bp.route("/calendar/<token>.ics", endpoint="calendar_feed")
@requires(Permission.PUBLIC)
@limiter.limit(FEED_LIMIT_PER_ADDRESS, deduct_when=_missed)
@limiter.limit(FEED_LIMIT_PER_LINK, key_func=_token_key)
def calendar_feed_view(token: str):
    record_id = calendar_feed.record_for_token(token)
    if record_id is None:
        abort(404)
    response = make_response(calendar_feed.build_calendar(record_id))
    response.mimetype = "text/calendar"
    response.headers["Content-Disposition"] = 'inline; filename="care-plan.ics"'
    response.headers["Cache-Control"] = f"private, max-age={FEED_MAX_AGE_SECONDS}"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.after_request
def _no_referrer(response):
    # The feed's URL is its credential: never pass it on, found or not.
    if request.endpoint == "data.calendar_feed":
        response.headers["Referrer-Policy"] = "no-referrer"
    return response
