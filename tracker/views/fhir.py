"""FHIR R4: download a person's plan as a Bundle, and start a record from one."""

from __future__ import annotations

from flask import Blueprint, current_app, g, render_template, url_for
from flask_login import current_user

from .. import fhir
from ..forms.fhir import ImportBundleForm
from ..roles import Permission, requires
from ..web import download

bp = Blueprint("fhir", __name__)

NOT_SAVED = (
    "The record could not be saved, so nothing was kept. Try again in a few minutes. "
    "If it still does not work, contact your system administrator"
)


@bp.route("/records/<record_id>/export/fhir")
@requires(Permission.EXPORT_FHIR)
def export_bundle(record_id: str):
    bundle = fhir.export_bundle(g.record, g.membership)
    return download(fhir.to_json(bundle), fhir.MEDIA_TYPE, fhir.bundle_filename())


@bp.route("/caseload/import-fhir", methods=["GET", "POST"])
@requires(Permission.COORDINATE)
def import_bundle():
    form = ImportBundleForm()
    if form.validate_on_submit():
        read = fhir.read_bundle(form.bundle())
        if read.plan is not None:
            try:
                result = fhir.start_record(read.plan, by=current_user.id)
            except fhir.ImportFailed:
                current_app.logger.exception("FHIR import could not be written")
                form.form_errors.append(NOT_SAVED)
                return render_template("fhir/import.jinja", form=form), 503
            link = url_for("invitations.accept", token=result.invitation_token, _external=True)
            return render_template(
                "fhir/imported.jinja", result=result, not_mapped=read.not_mapped, link=link
            )
        form.form_errors.extend(read.problems)
        field = form.bundle_file if form.bundle_file.data else form.bundle_text
        field.errors = ["This bundle cannot be used. The problems are listed above."]
    return render_template("fhir/import.jinja", form=form), (422 if form.errors else 200)
