"""A read-only HTTP endpoint for the report files (stdlib only).

``GET``/``HEAD`` of ``/reports/`` (an index of days), ``/reports/<date>/`` (an index of that
day's files) and ``/reports/<date>/<file>``; bound to 127.0.0.1. The path is never joined
blindly: the raw path must be exactly ``/reports/<YYYY-MM-DD>/<slug>.<md|json|csv|png>``
segment by segment (each segment percent-decoded once and then matched against a strict
pattern, so ``..``, encoded or double-encoded separators, backslashes, NUL bytes and
absolute forms never match), and the file's real path (symlinks resolved) must lie inside
the real reports directory. Anything else is 404 with a fixed body.
"""

from __future__ import annotations

import html
import os
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

HOST = "127.0.0.1"
PREFIX = "/reports"

CONTENT_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "png": "image/png",
}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_FILE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,200}[a-z0-9])?\.(md|json|csv|png)\Z")
_SEGMENT_CHARS = re.compile(r"[A-Za-z0-9._~%-]*\Z")


def _segments(raw_path: str) -> list[str] | None:
    """The decoded segments after ``/reports`` (last may be "" for a trailing slash), or
    None when the path is not a plain, safe ``/reports/...`` path."""
    if "?" in raw_path:
        raw_path = raw_path.split("?", 1)[0]
    if raw_path in (PREFIX, PREFIX + "/"):
        return []
    if not raw_path.startswith(PREFIX + "/"):
        return None
    parts = raw_path[len(PREFIX) + 1:].split("/")
    if len(parts) > 2 or any(not _SEGMENT_CHARS.match(p) for p in parts):
        return None
    decoded = [unquote(p, errors="strict") for p in parts]
    for i, seg in enumerate(decoded):
        last = i == len(decoded) - 1
        if seg == "" and not last:
            return None  # "//"
        if any(c in seg for c in "/\\\x00%") or seg.startswith("."):
            return None
    return decoded


class ReportRequestHandler(BaseHTTPRequestHandler):
    server_version = "sigmasight-reports"
    sys_version = ""
    root: Path  # set on the subclass made by make_server (the real reports directory)

    # --- responses --------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str, head: bool,
              extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-cache")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _not_found(self, head: bool) -> None:
        self._send(404, b"404 not found\n", "text/plain; charset=utf-8", head)

    def _inside(self, path: Path) -> Path | None:
        """The real path of ``path`` if it exists inside the real root, else None."""
        try:
            real = Path(os.path.realpath(path))
        except (OSError, ValueError):
            return None
        if real != self.root and self.root not in real.parents:
            return None
        return real if real.exists() else None

    def _index(self, title: str, links: list[tuple[str, str]], head: bool) -> None:
        items = "\n".join(f'<li><a href="{html.escape(href, quote=True)}">{html.escape(text)}'
                          "</a></li>" for href, text in links) or "<li>no reports yet</li>"
        body = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"
                f"{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>\n"
                f"<ul>\n{items}\n</ul></body></html>\n").encode()
        self._send(200, body, "text/html; charset=utf-8", head)

    def _days(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted((p.name for p in self.root.iterdir()
                       if _DAY.match(p.name) and self._inside(p) and p.is_dir()), reverse=True)

    def _files(self, day_dir: Path) -> list[str]:
        return sorted(p.name for p in day_dir.iterdir()
                      if _FILE.match(p.name) and (real := self._inside(p)) and real.is_file())

    # --- methods ----------------------------------------------------------------------
    def _handle(self, head: bool) -> None:
        try:
            segments = _segments(self.path)
        except UnicodeDecodeError:
            segments = None
        if segments is None:
            return self._not_found(head)
        if segments == [] or segments == [""]:
            return self._index("SigmaSight reports",
                               [(f"{PREFIX}/{d}/", d) for d in self._days()], head)
        day = segments[0]
        if not _DAY.match(day):
            return self._not_found(head)
        day_dir = self._inside(self.root / day)
        if day_dir is None or not day_dir.is_dir():
            return self._not_found(head)
        if len(segments) == 1 or segments[1] == "":
            return self._index(f"SigmaSight reports {day}",
                               [(f"{PREFIX}/{day}/{f}", f) for f in self._files(day_dir)], head)
        name = segments[1]
        match = _FILE.match(name)
        real = self._inside(day_dir / name) if match else None
        if real is None or not real.is_file():
            return self._not_found(head)
        self._send(200, real.read_bytes(), CONTENT_TYPES[match.group(1)], head)

    def do_GET(self) -> None:  # noqa: N802 (http.server's names)
        self._handle(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle(head=True)

    def _refuse(self) -> None:
        self._send(405, b"405 method not allowed: read-only (GET, HEAD)\n",
                   "text/plain; charset=utf-8", head=False, extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse

    def send_error(self, code, message=None, explain=None) -> None:
        """Malformed requests: a fixed body that never echoes the request."""
        self.close_connection = True
        status = HTTPStatus(code) if code in HTTPStatus._value2member_map_ else 400
        body = f"{int(status)} {HTTPStatus(status).phrase}\n".encode()
        try:
            self._send(int(status), body, "text/plain; charset=utf-8", head=False)
        except OSError:
            pass

    def log_message(self, format, *args) -> None:  # quiet: the Dagster UI owns the console
        return


class ReportServer(ThreadingHTTPServer):
    daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{PREFIX}/"


def make_server(reports_dir: Path | str, host: str = HOST, port: int = 0) -> ReportServer:
    """A server for ``reports_dir`` (created if missing) on ``host:port`` (0 = any free)."""
    root = Path(reports_dir)
    root.mkdir(parents=True, exist_ok=True)
    handler = type("BoundReportRequestHandler", (ReportRequestHandler,),
                   {"root": Path(os.path.realpath(root))})
    return ReportServer((host, port), handler)


def start_in_background(reports_dir: Path | str, port: int = 0,
                        host: str = HOST) -> ReportServer:
    """Start serving in a daemon thread; ``server.shutdown()`` stops it."""
    server = make_server(reports_dir, host, port)
    threading.Thread(target=server.serve_forever, name="sigmasight-reports", daemon=True).start()
    return server
