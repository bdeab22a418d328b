"""Receipt photos for spending records: checked by content, cleaned, kept with the record.

Why it looks like this:

* **Checked by what the bytes are, never by the file's name or the browser's
  content type.** Only Pillow's JPEG and PNG parsers are allowed to look at the
  upload (``formats=``), the image is verified, then decoded in full, so a renamed
  text file, a GIF, a PDF, HTML behind a JPEG signature or a truncated photo are
  all refused. Phones often save JPEGs as MPO (several pictures in one file); the
  first picture is kept.
* **Decompression bombs.** A small file can claim a vast picture. The pixel count
  in the header is checked against :data:`MAX_PIXELS` before anything is decoded
  (lower than Pillow's own process-wide limit, which is left alone because other
  parts of the app use Pillow too).
* **Nothing but the pixels is kept.** The picture is scaled down to at most
  :data:`MAX_KEPT_PIXELS`, keeping its shape (a 12-megapixel phone photo is kept
  as it is; a long screenshot keeps its width, so its words stay legible), turned
  upright from its EXIF orientation, and re-encoded from its pixels alone: no EXIF
  (so no GPS location), no XMP, comments, text chunks or colour profiles survive,
  and neither does anything hidden after the image data.
* **Stored with the person's record** as ``records/<record_id>/receipts/<id>.jpg``
  (or ``.png``), so deleting the record's folder deletes them too. Each file is
  written by the store (``Store.write_file``: atomically, under its lock, refused
  once the folder is deleted for good), while holding the lock of the record's own
  document, so that deleting the record cannot miss a receipt being written. Ids are checked
  against strict patterns before any path is built, so no id can reach outside
  the folder.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from . import records
from .store import ScopeDeleted, get_store, new_id

MAX_BYTES = 5 * 1024 * 1024
# 50 megapixels: the largest phone cameras' full-resolution photos.
MAX_PIXELS = 50_000_000
# Larger photos are scaled down to this many pixels, keeping their shape: small print
# stays legible, and a stored receipt is rarely more than a megabyte or two.
MAX_KEPT_PIXELS = 16_000_000
JPEG_QUALITY = 85

# Pillow's format name -> what we save it as: (Pillow format, file extension, MIME type).
_OUTPUT = {
    "JPEG": ("JPEG", "jpg", "image/jpeg"),
    "MPO": ("JPEG", "jpg", "image/jpeg"),
    "PNG": ("PNG", "png", "image/png"),
}
_MIME_BY_EXTENSION = {ext: mime for _, ext, mime in _OUTPUT.values()}
# The only parsers that may read an upload (Pillow's JPEG parser also reads MPO).
_PARSERS = ["JPEG", "PNG"]
# Modes each format can hold as they are; anything else (or a picture with a
# transparent colour, which would be lost with the rest of ``info``) is converted first.
_KEPT_MODES = {"JPEG": {"L", "RGB"}, "PNG": {"L", "LA", "RGB", "RGBA"}}

_RECORD_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_RECEIPT_ID_RE = re.compile(r"^[0-9a-f]{12}$")

NOT_A_PHOTO = "The receipt must be a JPEG or PNG photo"
TOO_LARGE = "The receipt must be smaller than 5 MB"
EMPTY = "The selected receipt is empty"
TOO_MANY_PIXELS = "The receipt photo is too big – use a smaller photo or a screenshot of it"
DAMAGED = "The receipt photo could not be opened – try taking it again"


class InvalidReceipt(ValueError):
    """An upload that cannot be kept; ``message`` is plain English for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def save_receipt(record_id: str, data: bytes) -> str:
    """Check and clean a receipt photo, keep it with the record, and return its id.

    Raises :class:`InvalidReceipt` (storing nothing) if the bytes are not a usable
    JPEG or PNG within the limits, and ``LookupError`` if there is no such record
    (or it is being deleted).
    """
    if not _RECORD_ID_RE.fullmatch(record_id) or records.get_record(record_id) is None:
        raise LookupError(f"no record {record_id!r}")
    payload, extension = clean_image(data)
    folder = _folder(record_id)
    try:
        # Written holding the lock of the record's own document, which deleting the
        # record takes (file by file) only after marking its folder deleted for good:
        # so either the deletion waits for this write and then removes it with the
        # folder, or it has begun and the store refuses this write (ScopeDeleted).
        with get_store().transaction(records.record_scope(record_id)):
            receipt_id = new_id()
            while _find(folder, receipt_id) is not None:  # 48 random bits: practically never
                receipt_id = new_id()
            get_store().write_file(_folder_scope(record_id), f"{receipt_id}.{extension}", payload)
    except ScopeDeleted:
        raise LookupError(f"record {record_id!r} has been deleted") from None
    return receipt_id


def load_receipt(record_id: str, receipt_id: str) -> tuple[bytes, str] | None:
    """The stored photo's bytes and MIME type, or ``None`` if the record has no such receipt."""
    path = _path(record_id, receipt_id)
    if path is None:
        return None
    try:
        return path.read_bytes(), _MIME_BY_EXTENSION[path.suffix[1:]]
    except FileNotFoundError:  # deleted a moment ago
        return None


def delete_receipt(record_id: str, receipt_id: str) -> bool:
    """Remove a receipt photo from disk; ``False`` if there was none."""
    path = _path(record_id, receipt_id)
    if path is None:
        return False
    return get_store().remove_file(_folder_scope(record_id), path.name)


def clean_image(data: bytes) -> tuple[bytes, str]:
    """Re-encode an uploaded JPEG or PNG from its pixels alone: (new bytes, file extension).

    Raises :class:`InvalidReceipt` for anything else, or for a photo past the limits.
    """
    if not data:
        raise InvalidReceipt(EMPTY)
    if len(data) > MAX_BYTES:
        raise InvalidReceipt(TOO_LARGE)
    try:
        with Image.open(io.BytesIO(data), formats=_PARSERS) as probe:
            fmt = probe.format or ""
            too_big = probe.width * probe.height > MAX_PIXELS
            if not too_big:
                probe.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidReceipt(TOO_MANY_PIXELS) from None
    except UnidentifiedImageError:
        raise InvalidReceipt(NOT_A_PHOTO) from None
    except Exception:  # Pillow's parsers raise many kinds of error on damaged files
        raise InvalidReceipt(DAMAGED) from None
    if too_big:
        raise InvalidReceipt(TOO_MANY_PIXELS)
    if fmt in ("JPEG", "MPO") and not _jpeg_is_complete(data):
        raise InvalidReceipt(DAMAGED)
    try:
        return _reencode(data, fmt)
    except Exception:  # as above: any failure to decode means the photo cannot be used
        raise InvalidReceipt(DAMAGED) from None


def _jpeg_is_complete(data: bytes) -> bool:
    """Whether the first picture of a JPEG runs to its end-of-image marker.

    Pillow decodes a cut-off JPEG without complaint once anything in the process
    has set ``ImageFile.LOAD_TRUNCATED_IMAGES`` (WeasyPrint does, on import), filling
    the missing part with grey; so the markers are walked here instead. The segments
    before the first scan are skipped by their lengths (an EXIF thumbnail inside one
    has its own end marker); inside the scans a 0xFF byte is always escaped, so an
    end-of-image marker after the first scan is the picture's own.
    """
    i = 2  # after the start-of-image marker, which Pillow has already checked
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return False
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if 0xD0 <= marker <= 0xD8 or marker == 0x01:  # markers without a length
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker == 0xDA:  # start of scan: the compressed picture follows
            return b"\xff\xd9" in data[i + 2 + length :]
        i += 2 + length
    return False


def _reencode(data: bytes, fmt: str) -> tuple[bytes, str]:
    """Decode in full (verify() does not), shrink, turn upright, and save the pixels only."""
    out_format, extension, _ = _OUTPUT[fmt]
    with Image.open(io.BytesIO(data), formats=[out_format]) as im:
        if out_format == "JPEG" and _scale(im) < 1:
            # A 48-megapixel photo is decoded at half size (a quarter of the memory):
            # libjpeg scales by 1/2, 1/4 or 1/8 while it decodes, as long as at least
            # three quarters of the kept width and height are left.
            im.draft(None, _scaled(im, 0.75 * _scale(im)))
        im.load()
        as_it_is = im.mode in _KEPT_MODES[out_format] and "transparency" not in im.info
        picture = im if as_it_is else _converted(im, out_format)
        # Shrink before turning upright, so that copies the small picture only; after
        # converting, as a palette or 1-bit picture would be scaled without smoothing.
        if _scale(picture) < 1:
            picture.thumbnail(_scaled(picture, _scale(picture)))
        # Scaling keeps the EXIF in ``info``, so the orientation is still known here.
        upright = ImageOps.exif_transpose(picture)
    # Pillow's savers fall back on the image's own info for some metadata (JPEG
    # comments, PNG colour profiles): with it emptied, only the pixels are written.
    upright.info.clear()
    buffer = io.BytesIO()
    if out_format == "JPEG":
        upright.save(buffer, "JPEG", quality=JPEG_QUALITY)
    else:
        upright.save(buffer, "PNG")
    return buffer.getvalue(), extension


def _scale(im: Image.Image) -> float:
    """How much to shrink each side by to keep at most MAX_KEPT_PIXELS."""
    return math.sqrt(MAX_KEPT_PIXELS / (im.width * im.height))


def _scaled(im: Image.Image, scale: float) -> tuple[int, int]:
    return max(1, int(im.width * scale)), max(1, int(im.height * scale))


def _converted(im: Image.Image, out_format: str) -> Image.Image:
    """The picture in a mode the output format holds: with its transparency, or grey for a scan."""
    if out_format == "PNG" and ("A" in im.mode or "transparency" in im.info):
        return im.convert("RGBA")
    return im.convert("L" if im.mode == "1" else "RGB")


# --- files -------------------------------------------------------------------------


def _folder_scope(record_id: str) -> str:
    return f"{records.log_scope(record_id)}/receipts"


def _folder(record_id: str) -> Path:
    return get_store().root / _folder_scope(record_id)


def _find(folder: Path, receipt_id: str) -> Path | None:
    for extension in _MIME_BY_EXTENSION:
        candidate = folder / f"{receipt_id}.{extension}"
        if candidate.is_file():
            return candidate
    return None


def _path(record_id: str, receipt_id: str) -> Path | None:
    """The stored file, if both ids are well formed and it exists."""
    if not (_RECORD_ID_RE.fullmatch(record_id) and _RECEIPT_ID_RE.fullmatch(receipt_id)):
        return None
    return _find(_folder(record_id), receipt_id)


__all__ = [
    "MAX_BYTES",
    "MAX_KEPT_PIXELS",
    "MAX_PIXELS",
    "InvalidReceipt",
    "clean_image",
    "delete_receipt",
    "load_receipt",
    "save_receipt",
]
