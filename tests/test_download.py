"""The fetch step against an offline folder and a local HTTP server.

The server listens on 127.0.0.1 only, on a port the OS picks, and serves
what each test tells it to; nothing here reaches any other host.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import logging
import threading

import pytest

from aelab.data import download
from aelab.data.download import RemoteFile
from aelab.errors import AelabError

CONTENT = b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02\x03"
REMOTE = RemoteFile("labels.gz", hashlib.sha256(CONTENT).hexdigest())


@pytest.fixture
def server():
    """A local HTTP server; set ``server.routes[path] = (status, body)``."""
    routes: dict[str, tuple[int, bytes]] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            status, body = routes.get(self.path, (404, b"not here"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.routes = routes
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_content_hash_is_of_decompressed_bytes(tmp_path):
    path = tmp_path / "a.gz"
    path.write_bytes(gzip.compress(CONTENT, mtime=123))
    assert download.content_sha256(path) == REMOTE.sha256
    path.write_bytes(gzip.compress(CONTENT, compresslevel=1, mtime=0))
    assert download.content_sha256(path) == REMOTE.sha256


def test_offline_folder_used_first_and_no_request_made(tmp_path, server):
    offline = tmp_path / "offline"
    (offline / "mnist").mkdir(parents=True)
    (offline / "mnist" / "labels.gz").write_bytes(gzip.compress(CONTENT))
    dest = tmp_path / "raw"
    path = download.fetch(REMOTE, dest, [server.url + "/a/"], offline, "mnist")
    assert path == dest / "labels.gz"
    assert download.content_sha256(path) == REMOTE.sha256
    assert list(dest.iterdir()) == [path]  # no temporary file left


def test_mirrors_tried_in_order_until_one_serves(tmp_path, server, caplog):
    server.routes["/one/labels.gz"] = (403, b"forbidden")
    server.routes["/two/labels.gz"] = (503, b"busy")
    server.routes["/three/labels.gz"] = (200, gzip.compress(CONTENT))
    mirrors = [server.url + p for p in ("/one/", "/two/", "/three/")]
    with caplog.at_level(logging.WARNING):
        path = download.fetch(REMOTE, tmp_path, mirrors)
    assert download.content_sha256(path) == REMOTE.sha256
    assert "HTTP status 403" in caplog.text and "HTTP status 503" in caplog.text


def test_all_mirrors_fail_lists_every_url_and_leaves_nothing(tmp_path, server):
    server.routes["/one/labels.gz"] = (403, b"forbidden")
    server.routes["/two/labels.gz"] = (503, b"busy")
    mirrors = [server.url + "/one/", server.url + "/two/"]
    with pytest.raises(AelabError) as info:
        download.fetch(REMOTE, tmp_path, mirrors)
    message = str(info.value)
    assert f"{server.url}/one/labels.gz: HTTP status 403" in message
    assert f"{server.url}/two/labels.gz: HTTP status 503" in message
    assert "AELAB_OFFLINE_MIRROR" in message
    assert list(tmp_path.iterdir()) == []


def test_html_page_with_status_200_is_rejected_with_both_hashes(tmp_path, server):
    page = b"<html><body>Please log in</body></html>"
    server.routes["/m/labels.gz"] = (200, page)
    with pytest.raises(AelabError) as info:
        download.fetch(REMOTE, tmp_path, [server.url + "/m/"])
    message = str(info.value)
    assert "wrong content (not gzip data)" in message
    assert "the fetched copy was discarded" in message
    assert REMOTE.sha256 in message
    assert hashlib.sha256(page).hexdigest() in message
    assert list(tmp_path.iterdir()) == []


def test_truncated_download_is_rejected(tmp_path, server):
    whole = gzip.compress(CONTENT * 1000)
    server.routes["/m/labels.gz"] = (200, whole[: len(whole) // 2])
    remote = RemoteFile("labels.gz", hashlib.sha256(CONTENT * 1000).hexdigest())
    with pytest.raises(AelabError, match="corrupt or truncated gzip data"):
        download.fetch(remote, tmp_path, [server.url + "/m/"])
    assert list(tmp_path.iterdir()) == []


def test_cached_file_with_wrong_hash_is_replaced(tmp_path, server):
    (tmp_path / "labels.gz").write_bytes(gzip.compress(b"stale content"))
    server.routes["/m/labels.gz"] = (200, gzip.compress(CONTENT))
    path = download.fetch(REMOTE, tmp_path, [server.url + "/m/"])
    assert download.content_sha256(path) == REMOTE.sha256


def test_verified_cached_file_needs_no_source(tmp_path):
    (tmp_path / "labels.gz").write_bytes(gzip.compress(CONTENT))
    path = download.fetch(REMOTE, tmp_path, mirrors=[])
    assert download.content_sha256(path) == REMOTE.sha256


def test_offline_mirror_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(download.OFFLINE_MIRROR_ENV, str(tmp_path))
    assert download.offline_mirror("/some/where/else") == tmp_path
    monkeypatch.delenv(download.OFFLINE_MIRROR_ENV)
    assert download.offline_mirror(str(tmp_path)) == tmp_path
    assert download.offline_mirror(str(tmp_path / "missing")) is None
    assert download.offline_mirror(None) is None


def test_empty_file_is_called_empty(tmp_path, server):
    server.routes["/m/labels.gz"] = (200, b"")
    with pytest.raises(AelabError, match="labels.gz: empty file"):
        download.fetch(REMOTE, tmp_path, [server.url + "/m/"])
