"""The form for starting a record from a FHIR CarePlan bundle: upload a file or paste it."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import TextAreaField

from ..fhir import MAX_IMPORT_BYTES

TOO_LARGE = f"The bundle must be {MAX_IMPORT_BYTES // 1024} KB or smaller"


class ImportBundleForm(FlaskForm):
    bundle_file = FileField(
        "Upload a FHIR bundle file",
        description="A JSON file, for example one ending in .json, up to "
        f"{MAX_IMPORT_BYTES // 1024} KB.",
    )
    bundle_text = TextAreaField("Or paste the bundle's JSON here")

    def _upload(self) -> FileStorage | None:
        upload = self.bundle_file.data
        return upload if isinstance(upload, FileStorage) and upload.filename else None

    def bundle(self) -> bytes:
        """The bundle's bytes (at most one more than the limit, so too large can be told)."""
        upload = self._upload()
        if upload is not None:
            return upload.stream.read(MAX_IMPORT_BYTES + 1)
        return (self.bundle_text.data or "").encode("utf-8", "surrogatepass")[
            : MAX_IMPORT_BYTES + 1
        ]

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        has_file = self._upload() is not None
        has_text = bool((self.bundle_text.data or "").strip())
        if has_file and has_text:
            self.bundle_text.errors = ["Upload a file or paste the bundle, not both"]
            return False
        if not has_file and not has_text:
            self.bundle_file.errors = ["Upload a FHIR bundle file or paste its JSON"]
            return False
        return True
