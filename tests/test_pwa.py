"""The installable app on the server: manifest, icons, service worker, packaging, JS budget.

What a browser does with these (installability, offline, the outbox) is tested in
``tests/browser/test_pwa.py``; here are the facts those tests rest on.
"""

from __future__ import annotations

import gzip
import io
import json
import posixpath
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tracker import pwa

from .conftest import People

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "tracker" / "static"
JS_BUDGET_GZIPPED = 60 * 1024


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# --- the manifest -----------------------------------------------------------------


def test_manifest_is_served_as_a_web_app_manifest(client: FlaskClient) -> None:
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["name"] == "Care plan tracker"
    assert manifest["short_name"] == "Care plan"
    assert len(manifest["short_name"]) <= 12, "short names longer than 12 are cut on home screens"
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["id"] == "/"
    assert manifest["display"] == "standalone"
    # NHS blue, from the NHS.UK palette, and the page's own theme colour.
    assert manifest["theme_color"] == "#005eb8"
    assert manifest["background_color"] == "#f0f4f5"


def test_every_page_links_the_manifest_and_the_same_theme_colour(client: FlaskClient) -> None:
    html = client.get("/sign-in").get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert '<meta name="theme-color" content="#005eb8">' in html


@pytest.mark.parametrize(
    ("purpose", "size"), [("any", 192), ("any", 512), ("maskable", 512)], ids=str
)
def test_manifest_icons_exist_at_their_stated_pixel_size(
    client: FlaskClient, purpose: str, size: int
) -> None:
    icons = pwa.manifest()["icons"]
    matching = [i for i in icons if i["purpose"] == purpose and i["sizes"] == f"{size}x{size}"]
    assert matching, f"no {purpose} icon at {size}×{size}: {icons}"
    for icon in matching:
        assert icon["type"] == "image/png"
        response = client.get(icon["src"])
        assert response.status_code == 200, icon["src"]
        assert response.mimetype == "image/png"
        assert png_size(response.get_data()) == (size, size), icon["src"]


def test_the_maskable_icon_keeps_the_logo_inside_the_safe_zone(client: FlaskClient) -> None:
    """A maskable icon is cropped to as little as a circle of 40% radius: the logo must
    fit inside it, and the background must reach every edge (full bleed)."""
    from PIL import Image  # Pillow comes with WeasyPrint

    icon = next(i for i in pwa.manifest()["icons"] if i["purpose"] == "maskable")
    data = client.get(icon["src"]).get_data()
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    background = image.getpixel((0, 0))
    for corner in [(width - 1, 0), (0, height - 1), (width - 1, height - 1)]:
        assert image.getpixel(corner) == background, "the background must be full bleed"
    radius = 0.4 * width
    centre = (width / 2, height / 2)
    outside = [
        (x, y)
        for y in range(0, height, 4)
        for x in range(0, width, 4)
        if (x - centre[0]) ** 2 + (y - centre[1]) ** 2 > radius**2
        and sum(abs(a - b) for a, b in zip(image.getpixel((x, y)), background, strict=True)) > 48
    ]
    assert not outside, f"logo pixels outside the safe zone, e.g. {outside[:5]}"


# --- the service worker -----------------------------------------------------------


def test_service_worker_is_served_from_the_root_uncached_with_root_scope(
    client: FlaskClient,
) -> None:
    response = client.get("/service-worker.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/"
    body = response.get_data(as_text=True)
    assert "__VERSION__" not in body
    assert "__PRECACHE__" not in body
    _, version = pwa.service_worker()
    assert f'const VERSION = "{version}";' in body
    assert re.fullmatch(r"[0-9a-f]{16}", version)
    # app.js registers it for the whole site.
    app_js = (STATIC / "js" / "app.js").read_text()
    assert 'register("/service-worker.js", { scope: "/" })' in app_js


def test_service_worker_answers_a_revalidation_with_304(client: FlaskClient) -> None:
    first = client.get("/service-worker.js")
    etag = first.headers["ETag"]
    assert etag.startswith(('"', 'W/"')), f"an ETag is a quoted string: {etag}"
    again = client.get("/service-worker.js", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_every_precached_file_is_served(client: FlaskClient) -> None:
    body = client.get("/service-worker.js").get_data(as_text=True)
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", body).group(1))
    assert set(precache) == set(pwa.PRECACHE)
    # The shell: NHS.UK styles and scripts, htmx, the app's own files, the offline page.
    assert any(p.endswith(".css") and "nhsuk-frontend" in p for p in precache)
    assert any("htmx" in p for p in precache)
    assert "/static/js/app.js" in precache
    for path in [*precache, "/offline"]:
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()


def test_service_worker_version_changes_when_a_precached_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell_file = tmp_path / "app.css"
    shell_file.write_text("body { color: #212b32; }")
    monkeypatch.setitem(pwa.PRECACHE, "/static/css/test-only.css", shell_file)
    pwa.service_worker.cache_clear()
    try:
        body, before = pwa.service_worker()
        assert "/static/css/test-only.css" in body
        assert pwa.service_worker()[1] == before, "the same files give the same version"
        shell_file.write_text("body { color: #000; }")
        pwa.service_worker.cache_clear()
        body, after = pwa.service_worker()
        assert after != before
        assert f'const VERSION = "{after}";' in body
    finally:
        pwa.service_worker.cache_clear()


def test_service_worker_source_changes_its_version_too(monkeypatch: pytest.MonkeyPatch) -> None:
    pwa.service_worker.cache_clear()
    try:
        _, before = pwa.service_worker()
        original = pwa._source
        monkeypatch.setattr(pwa, "_source", lambda: original() + "\n// a new release\n")
        pwa.service_worker.cache_clear()
        assert pwa.service_worker()[1] != before
    finally:
        pwa.service_worker.cache_clear()


def test_offline_page_holds_nothing_about_anyone(client: FlaskClient) -> None:
    html = client.get("/offline").get_data(as_text=True)
    assert "You are offline" in html
    assert "csrf" not in html.lower(), "a cached page must not carry a session's token"
    assert "Sign out" not in html


def test_installed_package_contains_the_service_worker(tmp_path: Path) -> None:
    """Build the wheel as pip would, install it into a folder, and serve the worker from it."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ["pyproject.toml", "README.md"]:
        (source / name).write_bytes((REPO / name).read_bytes())
    ignore = _ignore_caches
    shutil.copytree(REPO / "tracker", source / "tracker", ignore=ignore)
    shutil.copytree(REPO / "service-worker", source / "service-worker", ignore=ignore)
    wheels = tmp_path / "wheels"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = wheels.glob("care_plan_tracker-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "service_worker/service-worker.js" in names
        assert (
            zf.read("service_worker/service-worker.js")
            == (REPO / "service-worker" / "service-worker.js").read_bytes()
        )
        for needed in [
            "tracker/templates/offline.jinja",
            "tracker/static/icons/maskable-512.png",
            *(f"tracker/static/{p.relative_to(STATIC)}" for p in pwa.PRECACHE.values()),
        ]:
            assert needed in names, f"the wheel lacks {needed}"
        site = tmp_path / "site"
        zf.extractall(site)
    # The installed copy has no top-level service-worker/ folder beside it, so it must
    # read the worker from the service_worker package.
    probe = (
        "import tracker, tracker.pwa as p; body, v = p.service_worker(); "
        "print(tracker.__file__); print(v); print('VERSION = \"' + v + '\"' in body)"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    where, version, served = ran.stdout.split()
    assert Path(where).is_relative_to(site), f"imported the repository's copy: {where}"
    assert served == "True"
    assert version == pwa.service_worker()[1], "the installed worker has the same version"


def _ignore_caches(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n in {"__pycache__", ".pytest_cache"} or n.endswith(".pyc")}


# --- how much JavaScript a phone downloads ----------------------------------------

_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", re.I)
_IMPORT = re.compile(r"""(?:\bimport\b[^"';]*?\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']""")


def _javascript_of(client: FlaskClient, paths: list[str]) -> dict[str, bytes]:
    """Every script the pages load (URL path -> body), with what their ES module imports pull in."""
    found: dict[str, bytes] = {}
    todo = []
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        todo += _SCRIPT.findall(response.get_data(as_text=True))
    while todo:
        url = urlsplit(todo.pop()).path
        if url in found:
            continue
        response = client.get(url)
        assert response.status_code == 200, url
        found[url] = response.get_data()
        response.close()
        for spec in _IMPORT.findall(found[url].decode("utf-8", "replace")):
            if spec.startswith((".", "/")):
                todo.append(posixpath.normpath(posixpath.join(posixpath.dirname(url), spec)))
    return found


def test_javascript_shipped_is_under_60_kb_gzipped(app: Flask, people: People, login_as) -> None:
    owner = login_as("owner@example.com")
    record = people.record_id
    pages = [
        f"/records/{record}/today",
        f"/records/{record}/mood",
        f"/records/{record}/history",
        "/notifications",
    ]
    scripts = _javascript_of(owner, pages)
    scripts.update(_javascript_of(app.test_client(), ["/sign-in"]))
    # The service worker is JavaScript the phone downloads too.
    scripts["/service-worker.js"] = app.test_client().get("/service-worker.js").get_data()
    names = {Path(u).name for u in scripts}
    # What the budget must include: htmx, the NHS.UK frontend's JS and the app's own.
    assert {"htmx-2.0.11.min.js", "nhsuk-frontend-10.6.1.min.js", "app.js"} <= names, names
    sizes = {u: len(gzip.compress(b, compresslevel=6)) for u, b in scripts.items()}
    total = sum(sizes.values())
    detail = ", ".join(f"{Path(u).name} {s / 1024:.1f} KB" for u, s in sorted(sizes.items()))
    assert total < JS_BUDGET_GZIPPED, f"{total / 1024:.1f} KB gzipped: {detail}"


# --- compression and caching of static files --------------------------------------

NHSUK_CSS = "/static/vendor/nhsuk-frontend/nhsuk-frontend-10.6.1.min.css"


def test_static_text_files_are_gzipped_for_browsers_that_accept_it(client: FlaskClient) -> None:
    on_disk = (STATIC / "vendor" / "nhsuk-frontend" / "nhsuk-frontend-10.6.1.min.css").read_bytes()
    plain = client.get(NHSUK_CSS)
    assert "Content-Encoding" not in plain.headers
    assert plain.get_data() == on_disk
    assert "Accept-Encoding" in plain.headers["Vary"]

    zipped = client.get(NHSUK_CSS, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    body = zipped.get_data()
    assert int(zipped.headers["Content-Length"]) == len(body)
    assert gzip.decompress(body) == on_disk
    assert len(body) < len(on_disk) / 5
    assert "Accept-Ranges" not in zipped.headers
    # The same resource in another encoding: a weak ETag, and revalidation still works.
    etag = zipped.headers["ETag"]
    assert etag.startswith('W/"')
    again = client.get(NHSUK_CSS, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304

    refused = client.get(NHSUK_CSS, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers


@pytest.mark.parametrize(
    "path",
    ["/static/js/app.js", "/static/vendor/htmx/htmx-2.0.11.min.js", "/service-worker.js"],
)
def test_scripts_and_the_service_worker_are_gzipped_too(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.get_data())


def test_pages_are_never_compressed(client: FlaskClient, login_as, people: People) -> None:
    """A page carries the session's CSRF token: compressing it would open it to BREACH."""
    for c, path in [(client, "/sign-in"), (login_as("owner@example.com"), "/")]:
        response = c.get(path, headers={"Accept-Encoding": "gzip"}, follow_redirects=True)
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        assert "Content-Encoding" not in response.headers, path


def test_versioned_static_files_are_cached_for_a_year_and_the_app_s_own_revalidated(
    client: FlaskClient,
) -> None:
    for path in [NHSUK_CSS, "/static/vendor/htmx/htmx-2.0.11.min.js"]:
        response = client.get(path)
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable", path
        response.close()
    for path in ["/static/css/app.css", "/static/js/app.js"]:
        # No version in the name: the browser must ask again (a 304 when unchanged).
        response = client.get(path)
        assert "no-cache" in response.headers["Cache-Control"], path
        assert "immutable" not in response.headers["Cache-Control"], path
        etag = response.headers["ETag"]
        response.close()
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
