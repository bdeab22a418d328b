"""Receipt photos: checked by content, cleaned of metadata, kept with the record, shown by role.

Uploads are built here with Pillow: real JPEGs and PNGs (with GPS, comments, text
chunks, rotations, odd colour modes), and files that only pretend to be photos.
What is stored is read back from disk and opened again, so each test checks the
file a person's browser would really be sent.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, PngImagePlugin

from tracker import receipts, records, sharing
from tracker.receipts import InvalidReceipt
from tracker.roles import Category
from tracker.store import RETIRED_SCOPE, RETIRED_TABLE, Store, get_store

from .conftest import People
from .factories import create_person

GPS_LATITUDE = (51.0, 30.0, 25.98)  # somewhere in London


# --- building uploads ----------------------------------------------------------------


def halves(size: tuple[int, int] = (40, 20), mode: str = "RGB") -> Image.Image:
    """A picture whose left half is red and right half blue (to see which way is up)."""
    im = Image.new("RGB", size, "blue")
    im.paste("red", (0, 0, size[0] // 2, size[1]))
    return im.convert(mode)


def gps_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.99)
    return exif


def encode(im: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def jpeg(**params) -> bytes:
    return encode(halves(), "JPEG", **params)


def png(**params) -> bytes:
    return encode(halves(), "PNG", **params)


def jpeg_with_gps() -> bytes:
    """A JPEG with GPS in its EXIF and in its XMP, a comment, and a colour profile."""
    return jpeg(
        exif=gps_exif(),
        xmp=b"<x:xmpmeta><exif:GPSLatitude>51,30.4N</exif:GPSLatitude></x:xmpmeta>",
        comment=b"taken at 10 Downing Street",
        icc_profile=b"not a real profile, only words",
    )


def png_with_gps_and_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "10 Downing Street")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPSLatitude 51.5</x:xmpmeta>")
    return png(exif=gps_exif(), pnginfo=info)


def opened(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture
def ctx(app: Flask, people: People) -> Iterator[People]:
    """The people of conftest, inside an app context (the domain functions need one)."""
    with app.app_context():
        yield people


def receipts_folder(app: Flask, record_id: str) -> Path:
    return Path(app.config["TRACKER_DATA_DIR"]) / "records" / record_id / "receipts"


def files_under(app: Flask) -> list[Path]:
    return sorted(p for p in Path(app.config["TRACKER_DATA_DIR"]).rglob("*") if p.is_file())


# --- what is kept --------------------------------------------------------------------


def test_a_jpeg_receipt_is_kept_in_the_persons_record_folder_and_read_back(app, ctx):
    receipt_id = receipts.save_receipt(ctx.record_id, jpeg())

    path = receipts_folder(app, ctx.record_id) / f"{receipt_id}.jpg"
    assert path.is_file()
    data, mime = receipts.load_receipt(ctx.record_id, receipt_id)
    assert mime == "image/jpeg"
    assert data == path.read_bytes()
    assert opened(data).format == "JPEG"
    assert opened(data).size == (40, 20)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]


def test_a_png_receipt_stays_a_png(app, ctx):
    receipt_id = receipts.save_receipt(ctx.record_id, png())

    data, mime = receipts.load_receipt(ctx.record_id, receipt_id)
    assert mime == "image/png"
    assert (receipts_folder(app, ctx.record_id) / f"{receipt_id}.png").is_file()
    assert opened(data).getpixel((0, 0)) == (255, 0, 0)


def test_gps_location_and_comments_are_stripped_from_a_jpeg(ctx):
    upload = jpeg_with_gps()
    # The test has teeth: the upload really carries all of it.
    assert opened(upload).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert {"exif", "comment", "xmp", "icc_profile"} <= set(opened(upload).info)

    data, _ = receipts.load_receipt(ctx.record_id, receipts.save_receipt(ctx.record_id, upload))
    stored = opened(data)
    assert not stored.getexif()
    assert not stored.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert not {"exif", "comment", "xmp", "icc_profile"} & set(stored.info)
    for leak in (b"Exif", b"PhoneMaker", b"Downing", b"GPS", b"xmpmeta", b"profile"):
        assert leak not in data


def test_gps_location_and_text_chunks_are_stripped_from_a_png(ctx):
    upload = png_with_gps_and_text()
    assert opened(upload).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"eXIf" in upload and b"Downing" in upload

    data, _ = receipts.load_receipt(ctx.record_id, receipts.save_receipt(ctx.record_id, upload))
    stored = opened(data)
    assert not stored.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert not stored.text
    for leak in (b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"PhoneMaker", b"Downing", b"GPS"):
        assert leak not in data


def test_a_sideways_photo_is_turned_upright_from_its_exif_orientation(ctx):
    # Orientation 6: the camera was held on its side; shown turned 90° clockwise.
    upload = jpeg(exif=gps_exif(orientation=6), quality=95)

    data, _ = receipts.load_receipt(ctx.record_id, receipts.save_receipt(ctx.record_id, upload))
    stored = opened(data)
    assert stored.size == (20, 40)
    top, bottom = stored.getpixel((10, 5)), stored.getpixel((10, 35))
    assert top[0] > 200 > top[2]  # red (the left half) is now at the top
    assert bottom[2] > 200 > bottom[0]


def test_anything_hidden_after_the_picture_is_not_kept(ctx):
    upload = jpeg() + b"<html><script>alert(1)</script></html>"

    data, _ = receipts.load_receipt(ctx.record_id, receipts.save_receipt(ctx.record_id, upload))
    assert b"<script" not in data
    assert data.endswith(b"\xff\xd9")


def test_a_very_large_photo_is_scaled_down_keeping_its_shape_and_turned_upright(ctx):
    upload = encode(halves((6000, 4000)), "JPEG", exif=gps_exif(orientation=6))

    data, _ = receipts.load_receipt(ctx.record_id, receipts.save_receipt(ctx.record_id, upload))
    stored = opened(data)
    width, height = stored.size
    assert 0.99 * receipts.MAX_KEPT_PIXELS < width * height <= receipts.MAX_KEPT_PIXELS
    assert height / width == pytest.approx(6000 / 4000, rel=0.01)  # on its side, upright
    assert stored.getpixel((width // 2, 10))[0] > 200  # red (the left half) is at the top


def test_a_48_megapixel_photo_is_decoded_and_kept_at_half_size(ctx):
    # Decoding at half size in the JPEG decoder itself gives 4000 × 3000 exactly;
    # decoding in full and then scaling would give the 16-megapixel 4618 × 3464.
    upload = encode(halves((8000, 6000)), "JPEG", quality=50)

    data, _ = receipts.load_receipt(ctx.record_id, receipts.save_receipt(ctx.record_id, upload))
    assert opened(data).size == (4000, 3000)


def test_a_long_screenshot_keeps_its_width_so_its_words_stay_legible(ctx):
    upload = encode(halves((1000, 20_000), mode="L"), "PNG")

    data, _ = receipts.load_receipt(ctx.record_id, receipts.save_receipt(ctx.record_id, upload))
    assert opened(data).width >= 890


def test_a_photo_of_12_megapixels_is_kept_at_full_size(ctx):
    upload = encode(halves((4032, 3024)), "JPEG")

    data, _ = receipts.load_receipt(ctx.record_id, receipts.save_receipt(ctx.record_id, upload))
    assert opened(data).size == (4032, 3024)


def test_a_phone_photo_saved_as_several_pictures_keeps_the_first_as_a_jpeg(ctx):
    upload = encode(halves(), "MPO", save_all=True, append_images=[Image.new("RGB", (9, 9))])
    assert opened(upload).format == "MPO"

    data, mime = receipts.load_receipt(ctx.record_id, receipts.save_receipt(ctx.record_id, upload))
    assert mime == "image/jpeg"
    assert opened(data).format == "JPEG"
    assert opened(data).size == (40, 20)


@pytest.mark.parametrize(
    ("mode", "fmt", "stored_mode"),
    [
        ("L", "JPEG", "L"),
        ("CMYK", "JPEG", "RGB"),
        ("1", "PNG", "L"),
        ("P", "PNG", "RGB"),
        ("LA", "PNG", "LA"),
        ("RGBA", "PNG", "RGBA"),
        ("I;16", "PNG", "RGB"),
    ],
)
def test_every_colour_mode_of_jpeg_and_png_is_kept_in_a_mode_its_format_holds(
    ctx, mode, fmt, stored_mode
):
    upload = encode(halves(mode=mode), fmt)

    data, _ = receipts.load_receipt(ctx.record_id, receipts.save_receipt(ctx.record_id, upload))
    assert opened(data).mode == stored_mode


@pytest.mark.parametrize("mode", ["P", "RGB", "L"])
def test_a_png_with_a_transparent_colour_keeps_its_transparency(ctx, mode):
    im = halves(mode=mode)
    upload = encode(im, "PNG", transparency=im.getpixel((0, 0)))

    data, _ = receipts.load_receipt(ctx.record_id, receipts.save_receipt(ctx.record_id, upload))
    stored = opened(data)
    assert stored.mode == "RGBA"
    assert stored.getpixel((0, 0))[3] == 0
    assert stored.getpixel((39, 0))[3] == 255


def test_a_file_of_exactly_5_mb_is_accepted(ctx):
    upload = jpeg()
    upload += b"\0" * (receipts.MAX_BYTES - len(upload))

    assert receipts.load_receipt(ctx.record_id, receipts.save_receipt(ctx.record_id, upload))


# --- what is refused ---------------------------------------------------------------


def _gif() -> bytes:
    return encode(halves(), "GIF")


def _pdf() -> bytes:
    return encode(halves(), "PDF")


def _webp() -> bytes:
    return encode(halves(), "WEBP")


def _truncated_jpeg() -> bytes:
    data = encode(Image.effect_noise((200, 200), 50).convert("RGB"), "JPEG")
    return data[: len(data) // 2]


def _truncated_png() -> bytes:
    data = encode(Image.effect_noise((200, 200), 50).convert("RGB"), "PNG")
    return data[: len(data) // 2]


def _png_with_a_bad_checksum() -> bytes:
    data = bytearray(png())
    idat = data.index(b"IDAT")
    data[idat + 6] ^= 0xFF  # a byte of the compressed pixels, so the CRC no longer matches
    return bytes(data)


def _over_5_mb() -> bytes:
    upload = jpeg()
    return upload + b"\0" * (receipts.MAX_BYTES + 1 - len(upload))


def _bomb(pixels: int) -> bytes:
    """A PNG of a few kilobytes that claims a vast picture (mode "1" keeps it cheap here)."""
    width = 20_000
    return encode(Image.new("1", (width, pixels // width + 1)), "PNG")


@pytest.fixture(params=[False, True], ids=["alone", "after WeasyPrint"])
def pillow_lenient(request, monkeypatch) -> bool:
    """WeasyPrint, imported for the PDFs, makes Pillow accept cut-off images process-wide."""
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", request.param)
    return request.param


REFUSED = {
    "text file named .jpg": (lambda: b"Milk 1.20\nBread 0.95\n", receipts.NOT_A_PHOTO),
    "GIF": (_gif, receipts.NOT_A_PHOTO),
    "PDF": (_pdf, receipts.NOT_A_PHOTO),
    "WebP": (_webp, receipts.NOT_A_PHOTO),
    "HTML behind a JPEG signature": (
        lambda: b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>",
        receipts.DAMAGED,
    ),
    "truncated JPEG": (_truncated_jpeg, receipts.DAMAGED),
    "truncated PNG": (_truncated_png, receipts.DAMAGED),
    "PNG with a bad checksum": (_png_with_a_bad_checksum, receipts.DAMAGED),
    "empty file": (lambda: b"", receipts.EMPTY),
    "5 MB and 1 byte": (_over_5_mb, receipts.TOO_LARGE),
    "decompression bomb past our limit": (
        lambda: _bomb(receipts.MAX_PIXELS + 1),
        receipts.TOO_MANY_PIXELS,
    ),
    "decompression bomb past Pillow's limit": (
        lambda: _bomb(2 * Image.MAX_IMAGE_PIXELS + 1),
        receipts.TOO_MANY_PIXELS,
    ),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_disguised_damaged_or_oversized_upload_is_refused_and_nothing_is_stored(
    app, ctx, name, pillow_lenient
):
    make, message = REFUSED[name]
    upload = make()
    before = files_under(app)

    with pytest.raises(InvalidReceipt) as refused:
        receipts.save_receipt(ctx.record_id, upload)

    assert refused.value.message == message
    assert str(refused.value) == message
    assert files_under(app) == before
    assert not receipts_folder(app, ctx.record_id).exists()


def test_a_receipt_for_a_record_that_does_not_exist_is_refused_and_nothing_is_stored(app, ctx):
    before = files_under(app)
    for record_id in ("0123456789ab", "../../system", "a/b", ""):
        with pytest.raises(LookupError):
            receipts.save_receipt(record_id, jpeg())
    assert files_under(app) == before


def _upload_strategy() -> st.SearchStrategy[bytes]:
    """Random bytes, and real photos damaged at random (cut short, bytes changed)."""
    real = st.sampled_from([jpeg(), png(), jpeg_with_gps(), png_with_gps_and_text()])

    @st.composite
    def damaged(draw) -> bytes:
        data = bytearray(draw(real))
        for _ in range(draw(st.integers(0, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data[: draw(st.integers(0, len(data)))])

    signatures = st.sampled_from([b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a"])
    prefixed = st.builds(lambda head, tail: head + tail, signatures, st.binary(max_size=300))
    return st.one_of(st.binary(max_size=300), prefixed, real, damaged())


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(upload=_upload_strategy())
def test_any_upload_is_either_kept_as_a_clean_jpeg_or_png_or_refused_with_nothing_stored(
    app, ctx, upload
):
    before = files_under(app)
    try:
        receipt_id = receipts.save_receipt(ctx.record_id, upload)
    except InvalidReceipt as refused:
        assert refused.message
        assert files_under(app) == before
        return
    data, mime = receipts.load_receipt(ctx.record_id, receipt_id)
    stored = opened(data)
    assert (stored.format, mime) in {("JPEG", "image/jpeg"), ("PNG", "image/png")}
    assert not stored.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"Downing" not in data
    # One new file, the photo (beside the lock file of the record's document).
    added = [p for p in files_under(app) if p not in before and p.suffix != ".lock"]
    assert [p.stem for p in added] == [receipt_id]
    assert receipts.delete_receipt(ctx.record_id, receipt_id)


# --- reading and deleting ------------------------------------------------------------


def test_an_unknown_or_malformed_receipt_id_finds_nothing(ctx):
    receipt_id = receipts.save_receipt(ctx.record_id, jpeg())
    for bad in ("0123456789ab", f"{receipt_id}.jpg", "../receipts/" + receipt_id, "", "..", "*"):
        assert receipts.load_receipt(ctx.record_id, bad) is None
        assert receipts.delete_receipt(ctx.record_id, bad) is False
    assert receipts.load_receipt("../" + ctx.record_id, receipt_id) is None
    assert receipts.load_receipt(ctx.record_id, receipt_id) is not None


def test_a_receipt_is_found_only_under_its_own_record(app, ctx):
    other = records.create_record("Someone Else", created_by=ctx.owner_id, owner_id=ctx.owner_id)
    receipt_id = receipts.save_receipt(other.id, jpeg())

    assert receipts.load_receipt(ctx.record_id, receipt_id) is None
    assert receipts.delete_receipt(ctx.record_id, receipt_id) is False
    assert receipts.load_receipt(other.id, receipt_id) is not None


def test_a_deleted_receipt_is_gone_from_disk(app, ctx):
    receipt_id = receipts.save_receipt(ctx.record_id, png())

    assert receipts.delete_receipt(ctx.record_id, receipt_id) is True
    assert receipts.load_receipt(ctx.record_id, receipt_id) is None
    # Only the store's empty lock file may stay behind.
    left = [p.name for p in receipts_folder(app, ctx.record_id).iterdir()]
    assert [name for name in left if not name.endswith(".lock")] == []
    assert receipts.delete_receipt(ctx.record_id, receipt_id) is False


def test_backups_hold_each_receipt_as_it_was_stored(ctx):
    receipt_id = receipts.save_receipt(ctx.record_id, png())
    data, _ = receipts.load_receipt(ctx.record_id, receipt_id)

    backed_up = dict(get_store().snapshot())
    assert backed_up[f"records/{ctx.record_id}/receipts/{receipt_id}.png"] == data


def test_a_receipt_left_half_written_by_a_crash_is_cleared_when_the_app_starts(app, ctx):
    receipts.save_receipt(ctx.record_id, jpeg())
    leftover = receipts_folder(app, ctx.record_id) / ".tmp-abc123.jpg"
    leftover.write_bytes(b"half a photo")
    an_hour_ago = time.time() - 3600
    os.utime(leftover, (an_hour_ago, an_hour_ago))

    assert get_store().init() == 1
    assert not leftover.exists()


def test_deleting_the_record_deletes_its_receipts(app, ctx):
    receipt_id = receipts.save_receipt(ctx.record_id, jpeg())
    get_store().delete_scope_folder(records.log_scope(ctx.record_id), forever=True)

    assert receipts.load_receipt(ctx.record_id, receipt_id) is None
    assert not receipts_folder(app, ctx.record_id).exists()


def test_a_receipt_sent_while_the_record_is_being_deleted_is_refused(app, ctx):
    # Deleting marks the folder deleted first and drops the record from the index last.
    get_store().delete_scope_folder(records.log_scope(ctx.record_id), forever=True)
    assert records.get_record(ctx.record_id) is not None

    with pytest.raises(LookupError):
        receipts.save_receipt(ctx.record_id, jpeg())
    assert not receipts_folder(app, ctx.record_id).parent.exists()


def test_a_receipt_write_caught_by_a_deletion_is_refused_and_leaves_nothing(app, ctx, monkeypatch):
    writing, go = threading.Event(), threading.Event()
    real_write = Store.write_file

    def slow_write(store: Store, folder_scope: str, name: str, payload: bytes) -> Path:
        writing.set()
        assert go.wait(10)
        return real_write(store, folder_scope, name, payload)

    monkeypatch.setattr(Store, "write_file", slow_write)

    finished: list[str] = []

    def in_app(work) -> threading.Thread:
        def run() -> None:
            with app.app_context():
                work()
            finished.append(threading.current_thread().name)

        thread = threading.Thread(target=run, name=work.__name__)
        thread.start()
        return thread

    def save() -> None:
        # The store refuses a write into a folder whose deletion has begun.
        with pytest.raises(LookupError):
            receipts.save_receipt(ctx.record_id, jpeg())

    def delete() -> None:
        get_store().delete_scope_folder(records.log_scope(ctx.record_id), forever=True)

    saver = in_app(save)
    assert writing.wait(10)
    deleter = in_app(delete)
    # The deletion is under way: it has marked the folder deleted, and then waits.
    deadline = time.monotonic() + 10
    while not get_store().read(RETIRED_SCOPE).all(RETIRED_TABLE):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.2)
    go.set()
    saver.join(10)
    deleter.join(10)

    assert sorted(finished) == ["delete", "save"]  # both ran to the end as expected
    assert not receipts_folder(app, ctx.record_id).parent.exists()


# --- the page that shows a receipt ---------------------------------------------------


def receipt_url(people: People, receipt_id: str) -> str:
    return f"/records/{people.record_id}/receipts/{receipt_id}"


@pytest.fixture
def stored(app: Flask, people: People) -> str:
    with app.app_context():
        return receipts.save_receipt(people.record_id, jpeg_with_gps())


def test_the_person_sees_their_receipt_inline_and_it_is_never_cached(app, people, stored, login_as):
    response = login_as("owner@example.com").get(receipt_url(people, stored))

    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["Content-Disposition"] == "inline"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    with app.app_context():
        assert response.data == receipts.load_receipt(people.record_id, stored)[0]


def test_carer_and_coordinator_cannot_see_a_receipt_by_default(people, stored, login_as):
    for email in ("carer@example.com", "coord@example.com"):
        response = login_as(email).get(receipt_url(people, stored))
        assert response.status_code == 404, email
        assert response.mimetype == "text/html"


def test_a_carer_sees_a_receipt_once_the_person_shares_the_budget(app, people, stored, login_as):
    with app.app_context():
        member = sharing.membership_for(people.carer_id, people.record_id)
        sharing.set_categories(people.record_id, member.id, frozenset({Category.BUDGET}))

    response = login_as("carer@example.com").get(receipt_url(people, stored))
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"


def test_an_unknown_or_another_persons_receipt_answers_404(app, people, stored, login_as):
    _, theirs = create_person(app, "stranger@example.com", "Sam Stranger")
    with app.app_context():
        their_receipt = receipts.save_receipt(theirs.id, png())
    owner = login_as("owner@example.com")

    for path in (
        receipt_url(people, their_receipt),
        receipt_url(people, "0123456789ab"),
        receipt_url(people, "zz0junk0id"),
        f"/records/{theirs.id}/receipts/{their_receipt}",
    ):
        assert owner.get(path).status_code == 404, path
    assert login_as("stranger@example.com").get(receipt_url(people, stored)).status_code == 404


def test_a_signed_out_visitor_is_sent_to_sign_in(client, people, stored):
    response = client.get(receipt_url(people, stored))

    assert response.status_code == 303
    assert response.headers["Location"].startswith("/sign-in")
