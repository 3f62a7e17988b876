"""The fetch step against an offline folder and a local HTTP server.

The server listens on 127.0.0.1 only, on a port the OS picks, and serves
what each test tells it to; nothing here reaches any other host.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from aelab.cli import main
from aelab.data import download
from aelab.data.download import RemoteFile
from aelab.errors import AelabError
from conftest import tiny_params

CONTENT = b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02\x03"
REMOTE = RemoteFile("labels.gz", hashlib.sha256(CONTENT).hexdigest())


@pytest.fixture
def server():
    """A local HTTP server that records every request it answers.

    Set ``server.routes[path] = (status, body)``; or ``(status, body, cut,
    then)`` to announce the whole body, send its first ``cut`` bytes and then
    "close" the connection or "hang" until the test ends.
    """
    routes: dict[str, tuple] = {}
    requests: list[str] = []
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            requests.append(self.path)
            reply = routes.get(self.path, (404, b"not here"))
            status, body = reply[:2]
            cut, then = reply[2:] if len(reply) == 4 else (None, None)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:cut])
            self.wfile.flush()
            if then == "hang":
                release.wait(timeout=120)
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    httpd.routes = routes
    httpd.requests = requests
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    release.set()
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
    with caplog.at_level(logging.INFO):
        path = download.fetch(REMOTE, tmp_path, mirrors)
    assert path == tmp_path / "labels.gz"
    assert download.content_sha256(path) == REMOTE.sha256
    assert server.requests == ["/one/labels.gz", "/two/labels.gz", "/three/labels.gz"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        f"{server.url}/one/labels.gz: HTTP status 403",
        f"{server.url}/two/labels.gz: HTTP status 503",
    ]
    assert f"fetched from {server.url}/three/labels.gz" in caplog.text
    assert list(tmp_path.iterdir()) == [path]


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


def test_cached_file_with_wrong_hash_is_replaced(tmp_path, server, caplog):
    stale = gzip.compress(b"stale content")
    (tmp_path / "labels.gz").write_bytes(stale)
    server.routes["/m/labels.gz"] = (200, gzip.compress(CONTENT))
    with caplog.at_level(logging.WARNING):
        path = download.fetch(REMOTE, tmp_path, [server.url + "/m/"])
    assert download.content_sha256(path) == REMOTE.sha256
    assert server.requests == ["/m/labels.gz"]
    assert "existing file has the wrong content" in caplog.text
    assert REMOTE.sha256 in caplog.text
    assert hashlib.sha256(b"stale content").hexdigest() in caplog.text
    assert list(tmp_path.iterdir()) == [path]


def test_cached_truncated_gzip_is_replaced(tmp_path, server, caplog):
    whole = gzip.compress(CONTENT)
    (tmp_path / "labels.gz").write_bytes(whole[: len(whole) // 2])
    server.routes["/m/labels.gz"] = (200, whole)
    with caplog.at_level(logging.WARNING):
        path = download.fetch(REMOTE, tmp_path, [server.url + "/m/"])
    assert path.read_bytes() == whole
    assert "unreadable: corrupt or truncated gzip data" in caplog.text


@pytest.mark.parametrize("compressed", [True, False], ids=["gzip", "decompressed"])
def test_folder_seeded_by_hand_makes_no_request(tmp_path, server, compressed):
    # Someone copied the file in by hand, perhaps already decompressed: its
    # content hash is what counts, so no mirror is asked.
    seeded = tmp_path / "labels.gz"
    seeded.write_bytes(gzip.compress(CONTENT) if compressed else CONTENT)
    before = seeded.read_bytes()
    path = download.fetch(REMOTE, tmp_path, [server.url + "/m/"])
    assert path == seeded and path.read_bytes() == before
    assert server.requests == []


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


BIG = np.random.default_rng(0).bytes(400_000)  # gzip cannot shrink random bytes
BIG_REMOTE = RemoteFile("labels.gz", hashlib.sha256(BIG).hexdigest())


def test_connection_broken_halfway_tries_the_next_mirror(tmp_path, server, caplog):
    whole = gzip.compress(BIG)
    server.routes["/cut/labels.gz"] = (200, whole, len(whole) // 2, "close")
    server.routes["/good/labels.gz"] = (200, whole)
    with caplog.at_level(logging.WARNING):
        path = download.fetch(
            BIG_REMOTE, tmp_path, [server.url + "/cut/", server.url + "/good/"]
        )
    assert path.read_bytes() == whole
    assert (
        f"{server.url}/cut/labels.gz: the connection broke before the whole file "
        f"arrived (Connection broken: IncompleteRead({len(whole) // 2} bytes read"
    ) in caplog.text
    assert list(tmp_path.iterdir()) == [path]


def test_connection_broken_halfway_everywhere_leaves_nothing(tmp_path, server):
    whole = gzip.compress(BIG)
    server.routes["/cut/labels.gz"] = (200, whole, len(whole) // 2, "close")
    with pytest.raises(AelabError, match="the partial copy was discarded"):
        download.fetch(BIG_REMOTE, tmp_path, [server.url + "/cut/"])
    assert list(tmp_path.iterdir()) == []


def test_a_mirror_that_stops_sending_is_given_up(tmp_path, server, monkeypatch):
    monkeypatch.setattr(download, "TIMEOUT_S", 1)
    whole = gzip.compress(BIG)
    server.routes["/stuck/labels.gz"] = (200, whole, len(whole) // 2, "hang")
    with pytest.raises(AelabError) as info:
        download.fetch(BIG_REMOTE, tmp_path, [server.url + "/stuck/"])
    assert f"{server.url}/stuck/labels.gz: no answer for 1 s, gave up" in str(
        info.value
    )
    assert list(tmp_path.iterdir()) == []


def test_a_fetch_killed_halfway_leaves_only_a_temporary(tmp_path, server):
    whole = gzip.compress(BIG)
    server.routes["/m/labels.gz"] = (200, whole, len(whole) // 2, "hang")
    dest = tmp_path / "raw"
    code = (
        "from aelab.data.download import RemoteFile, fetch\n"
        f"fetch(RemoteFile('labels.gz', {BIG_REMOTE.sha256!r}), {str(dest)!r}, "
        f"[{server.url + '/m/'!r}])\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(download.__file__).parents[2]))
    child = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        # Wait until most of the first half has reached the disk.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            partial = list(dest.glob(".labels.*.tmp.gz"))
            if partial and partial[0].stat().st_size > len(whole) // 2 - 16384:
                break
            assert child.poll() is None, "the fetch ended before it was killed"
            time.sleep(0.05)
        else:
            pytest.fail("the download never got halfway")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL

    assert not (dest / "labels.gz").exists()
    assert [p.name for p in dest.iterdir()] == [partial[0].name]
    assert partial[0].stat().st_size < len(whole)

    # The next run starts over and leaves the verified file only.
    server.routes["/m/labels.gz"] = (200, whole)
    path = download.fetch(BIG_REMOTE, dest, [server.url + "/m/"])
    assert path.read_bytes() == whole
    assert list(dest.iterdir()) == [path]


def test_fetch_step_with_a_data_folder_seeded_by_hand(
    tmp_path, server, monkeypatch, mnist_mirror
):
    # No offline mirror, and the only mirror is a server that would answer
    # 404: the step must succeed from the seeded folder alone.
    folder, files = mnist_mirror
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(download.OFFLINE_MIRROR_ENV, raising=False)
    params = tiny_params(files)
    params["data"]["mnist"]["mirrors"] = [server.url + "/mnist/"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    shutil.copytree(folder, tmp_path / "data/mnist/raw")
    assert main(["fetch"]) == 0
    assert main(["prepare"]) == 0
    assert server.requests == []
    assert (tmp_path / "data/mnist/prepared/train.npz").is_file()
