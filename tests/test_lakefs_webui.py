"""The lakeFS web UI build's decisions, without building it (that takes minutes and ~700 MB: `make demo` only)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools import lakefs_webui
from tools.lakefs_server import LakeFSUnavailable, ServerAccess

# What a Vite build of lakeFS's UI serves at / (its index.html, abridged).
BUILT_INDEX = b'<!DOCTYPE html><html><head><title>lakeFS</title></head><body><div id="root"></div></body></html>'


@pytest.fixture
def page_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A loopback HTTP server answering / with whatever page the test puts in the dict."""
    pages = {"/": b""}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pages
    finally:
        server.shutdown()
        server.server_close()


def test_the_test_beds_lakefs_serves_the_placeholder_not_the_ui(lakefs_server: ServerAccess) -> None:
    # The binary built from the published module has an empty webui/dist.
    assert lakefs_webui.serves_ui(lakefs_server.endpoint) is False


def test_a_built_ui_is_recognized_and_the_placeholder_is_not(page_server: tuple[str, dict[str, bytes]]) -> None:
    url, pages = page_server
    pages["/"] = BUILT_INDEX
    assert lakefs_webui.serves_ui(url) is True
    pages["/"] = b'<html><h1>lakeFS UI Not Built</h1><div id="root"></div></html>'
    assert lakefs_webui.serves_ui(url) is False


def test_nothing_listening_means_no_ui() -> None:
    assert lakefs_webui.serves_ui("http://127.0.0.1:9") is False


def test_a_bad_override_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    not_executable = tmp_path / "lakefs"
    not_executable.write_text("")
    monkeypatch.setenv(lakefs_webui.ENV_VAR, str(not_executable))
    with pytest.raises(LakeFSUnavailable, match=r"LAKEFS_UI_BIN=.* is not an executable file"):
        lakefs_webui.find()


def test_the_override_wins_over_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "lakefs"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv(lakefs_webui.ENV_VAR, str(binary))
    assert lakefs_webui.find() == binary


def test_the_cached_build_is_versioned_and_outside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(lakefs_webui.ENV_VAR, raising=False)
    monkeypatch.setenv("LAKEFS_WAP_CACHE_DIR", str(tmp_path))
    version = lakefs_webui.pinned_version()
    assert lakefs_webui.cached_path() == tmp_path / f"lakefs-ui-{version}" / "lakefs"
    assert lakefs_webui.find() is None  # nothing built there yet
    built = lakefs_webui.cached_path()
    built.parent.mkdir()
    built.write_text("")
    assert lakefs_webui.find() == built


def test_building_without_node_or_go_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no go, node or npm
    monkeypatch.setenv("LAKEFS_WAP_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(LakeFSUnavailable, match=r"go, node, npm not found on PATH"):
        lakefs_webui.build(lambda line: None)
    assert not (tmp_path / "cache").exists()  # nothing started, nothing left behind
