"""A read-only HTTP endpoint for the report files (stdlib only).

``GET``/``HEAD`` of ``/reports/`` (an index of days, recent run failures and a link to the
Dagster UI), ``/reports/<date>/`` (that day's portfolios, each with its HTML view and raw
files), ``/reports/<date>/<slug>.html`` (the Markdown report rendered as a page, see
``html_view.py``) and ``/reports/<date>/<file>`` (the raw file); bound to 127.0.0.1. The path
is never joined blindly: the raw path must be exactly
``/reports/<YYYY-MM-DD>/<slug>.<md|json|csv|png|html>``
segment by segment (each segment percent-decoded once and then matched against a strict
pattern, so ``..``, encoded or double-encoded separators, backslashes, NUL bytes and
absolute forms never match), and the file's real path (symlinks resolved) must lie inside
the real reports directory. Anything else is 404 with a fixed body.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from . import html_view

HOST = "127.0.0.1"
PREFIX = "/reports"

CONTENT_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "png": "image/png",
}
HTML = "text/html; charset=utf-8"
#: raw formats offered beside each portfolio's HTML view, in this order
RAW_FORMATS = ("md", "json", "csv", "png")
#: where the index links back to when the server is not told (``sigmasight dev``'s default)
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_FILE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,200}[a-z0-9])?\.(md|json|csv|png|html)\Z")
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
    dagster_url: str = DEFAULT_DAGSTER_URL
    #: recent run failures for the index (dicts with run_id, job, failed_at, message), or None
    failures: Callable[[], list[dict]] | None = None

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

    def _page(self, title: str, body: str, head: bool,
              nav: list[tuple[str, str]] | None = None) -> None:
        nav = [(f"{PREFIX}/", "all days"), *(nav or []), (self.dagster_url, "Dagster UI")]
        self._send(200, html_view.page(title, f"<h1>{html_view.escape(title)}</h1>\n{body}", nav)
                   .encode(), HTML, head)

    def _failures_html(self) -> str:
        if self.failures is None:
            return ""
        try:
            rows = self.failures()
        except Exception as exc:  # noqa: BLE001 - the index must still list the reports
            return (f'<h2>Recent run failures</h2><p class="muted">unavailable: '
                    f"{html_view.escape(type(exc).__name__)}</p>")
        if not rows:
            return "<h2>Recent run failures</h2><p class=\"muted\">none recorded</p>"
        runs = [[html_view.anchor(f"{self.dagster_url}/runs/{r['run_id']}", r["run_id"][:8]),
                 html_view.escape(r.get("job") or ""), html_view.escape(r.get("failed_at") or ""),
                 html_view.escape(r.get("partitions") or ""),
                 f'<span class="failed">{html_view.escape(r.get("message") or "")}</span>']
                for r in rows]
        return ("<h2>Recent run failures</h2>"
                + html_view.table(["run", "job", "failed at", "days", "error"], runs,
                                  raw_columns=frozenset(range(5))))

    def _root_index(self, head: bool) -> None:
        days = self._days()
        body = (html_view.link_list([(f"{PREFIX}/{d}/", d) for d in days], "no reports yet")
                + self._failures_html())
        self._page("SigmaSight reports", "<h2>Days</h2>" + body, head)

    def _day_index(self, day: str, day_dir: Path, head: bool) -> None:
        files = self._files(day_dir)
        slugs = sorted({f.rsplit(".", 1)[0] for f in files})
        present = set(files)
        rows = []
        for slug in slugs:
            view = (html_view.anchor(f"{PREFIX}/{day}/{slug}.html", slug)
                    if f"{slug}.md" in present else html_view.escape(slug))
            raw = " ".join(html_view.anchor(f"{PREFIX}/{day}/{slug}.{fmt}", fmt)
                           for fmt in RAW_FORMATS if f"{slug}.{fmt}" in present)
            rows.append([view, raw])
        body = (html_view.table(["portfolio (HTML view)", "raw files"], rows,
                                raw_columns=frozenset({0, 1}))
                if rows else '<p class="muted">no reports for this day</p>')
        self._page(f"SigmaSight reports {day}", body, head, self._day_nav(day))

    def _day_nav(self, day: str, slug: str | None = None) -> list[tuple[str, str]]:
        """Links to the previous and next day that have reports (the same portfolio's report
        when ``slug`` is given and exists that day)."""
        days = sorted(self._days())
        nav = []
        if day in days:
            i = days.index(day)
            for j, label in ((i - 1, "previous day"), (i + 1, "next day")):
                if 0 <= j < len(days):
                    other = days[j]
                    target = (f"{PREFIX}/{other}/{slug}.html"
                              if slug and (self.root / other / f"{slug}.md").is_file()
                              else f"{PREFIX}/{other}/")
                    nav.append((target, f"{label} ({other})"))
        return nav

    def _report_html(self, day: str, day_dir: Path, slug: str, head: bool) -> None:
        source = self._inside(day_dir / f"{slug}.md")
        if source is None or not source.is_file():
            return self._not_found(head)
        nav = [(f"{PREFIX}/{day}/", f"{day}: all portfolios"), *self._day_nav(day, slug),
               *((f"{PREFIX}/{day}/{slug}.{fmt}", f"raw .{fmt}") for fmt in RAW_FORMATS
                 if (day_dir / f"{slug}.{fmt}").is_file()),
               (self.dagster_url, "Dagster UI")]
        text = source.read_text(encoding="utf-8", errors="replace")
        body = html_view.report_page(text, f"{slug} {day}", nav)
        self._send(200, body.encode(), HTML, head)

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
            return self._root_index(head)
        day = segments[0]
        if not _DAY.match(day):
            return self._not_found(head)
        day_dir = self._inside(self.root / day)
        if day_dir is None or not day_dir.is_dir():
            return self._not_found(head)
        if len(segments) == 1 or segments[1] == "":
            return self._day_index(day, day_dir, head)
        name = segments[1]
        match = _FILE.match(name)
        if match and match.group(1) == "html":
            return self._report_html(day, day_dir, name[:-len(".html")], head)
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


def make_server(reports_dir: Path | str, host: str = HOST, port: int = 0,
                dagster_url: str | None = None,
                failures: Callable[[], list[dict]] | None = None) -> ReportServer:
    """A server for ``reports_dir`` (created if missing) on ``host:port`` (0 = any free);
    the index links to ``dagster_url`` and lists what ``failures()`` returns."""
    root = Path(reports_dir)
    root.mkdir(parents=True, exist_ok=True)
    handler = type("BoundReportRequestHandler", (ReportRequestHandler,),
                   {"root": Path(os.path.realpath(root)),
                    "dagster_url": (dagster_url or DEFAULT_DAGSTER_URL).rstrip("/"),
                    "failures": staticmethod(failures) if failures else None})
    return ReportServer((host, port), handler)


def start_in_background(reports_dir: Path | str, port: int = 0, host: str = HOST,
                        dagster_url: str | None = None,
                        failures: Callable[[], list[dict]] | None = None) -> ReportServer:
    """Start serving in a daemon thread; ``server.shutdown()`` stops it."""
    server = make_server(reports_dir, host, port, dagster_url, failures)
    threading.Thread(target=server.serve_forever, name="sigmasight-reports", daemon=True).start()
    return server
