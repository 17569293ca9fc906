"""The read-only report endpoint over a real socket: files, indexes, and no way out."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys

import pytest

from sigmasight_pipeline.reports.server import start_in_background

SECRET = "TOP-SECRET-do-not-serve-4f1c"
DAY = "2025-06-30"


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "reports"
    (root / DAY).mkdir(parents=True)
    (root / DAY / "demo-book.md").write_text("# Portfolio report\n", encoding="utf-8")
    (root / DAY / "demo-book.json").write_text('{"schema_version": "1.0.0"}\n')
    (root / DAY / "demo-book.csv").write_text("Symbol\nAAPL\n")
    (root / DAY / "demo-book.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (tmp_path / "secret").write_text(SECRET)
    (tmp_path / "secret.md").write_text(SECRET)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.md").write_text(SECRET)
    os.symlink(tmp_path / "secret.md", root / DAY / "leak.md")  # file symlink out
    os.symlink(outside, root / "2025-07-01")  # day-directory symlink out
    server = start_in_background(root, port=0)
    yield server, root
    server.shutdown()
    server.server_close()


def _get(server, path: str, method: str = "GET") -> tuple[int, dict, bytes]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


def _raw(server, request: bytes) -> bytes:
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_serves_files_and_indexes_with_content_types(served):
    server, _ = served
    assert server.server_address[0] == "127.0.0.1"
    status, headers, body = _get(server, f"/reports/{DAY}/demo-book.md")
    assert status == 200 and body == b"# Portfolio report\n"
    assert headers["Content-Type"] == "text/markdown; charset=utf-8"
    expected = {"json": "application/json", "csv": "text/csv; charset=utf-8",
                "png": "image/png"}
    for ext, ctype in expected.items():
        status, headers, _ = _get(server, f"/reports/{DAY}/demo-book.{ext}")
        assert status == 200 and headers["Content-Type"] == ctype
    status, headers, body = _get(server, "/reports/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert f'href="/reports/{DAY}/"'.encode() in body
    assert b"2025-07-01" not in body  # the symlinked day leads outside: not listed
    status, _, body = _get(server, f"/reports/{DAY}/")
    assert status == 200 and f"/reports/{DAY}/demo-book.csv".encode() in body
    assert b"leak.md" not in body
    status, headers, body = _get(server, f"/reports/{DAY}/demo-book.md", method="HEAD")
    assert status == 200 and body == b"" and headers["Content-Length"] == "19"
    status, headers, _ = _get(server, f"/reports/{DAY}/demo-book.md", method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert _get(server, f"/reports/{DAY}/missing.md")[0] == 404


TRAVERSALS = [
    "/reports/../secret",
    "/reports/../secret.md",
    "/reports/%2e%2e/secret",
    "/reports/%2E%2E/secret.md",
    "/reports/..%2fsecret",
    "/reports/..%2Fsecret.md",
    f"/reports/{DAY}/..%2f..%2fsecret.md",
    f"/reports/{DAY}/%2e%2e%2f%2e%2e%2fsecret.md",
    "/reports/%252e%252e/secret",
    "/reports/%252e%252e%252fsecret.md",
    "/reports//etc/passwd",
    "/reports///secret.md",
    "/etc/passwd",
    "/secret.md",
    "/../secret.md",
    f"/reports/{DAY}/..\\..\\secret.md",
    f"/reports/{DAY}/..%5c..%5csecret.md",
    f"/reports/{DAY}/%5c..%5c..%5csecret.md",
    f"/reports/{DAY}/demo-book.md%00.png",
    f"/reports/{DAY}/leak.md",
    "/reports/2025-07-01/leak.md",
    "/reports/2025-07-01/",
    f"/reports/{DAY}/./demo-book.md/../../../secret.md",
    "/reports/%2fetc%2fpasswd",
    "/reports/..;/secret.md",
    "http://127.0.0.1/reports/../secret.md",
    "//127.0.0.1/secret.md",
    "/reports/\u2025/secret.md",
    f"/reports/{DAY}/leak.html",  # the HTML view of a symlink out
    "/reports/2025-07-01/leak.html",
    f"/reports/{DAY}/..%2f..%2fsecret.html",
    "/reports/../secret.html",
    f"/reports/{DAY}/missing.html",
]


def test_path_traversal_is_always_404(served):
    server, _ = served
    for path in TRAVERSALS:
        try:
            status, _, body = _get(server, path)
        except (http.client.InvalidURL, UnicodeEncodeError):  # refused by http.client: raw
            reply = _raw(server, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            status, body = int(reply.split(b" ", 2)[1]), reply
        assert status == 404, path
        assert SECRET.encode() not in body, path


def test_raw_requests_nul_absolute_form_and_garbage(served):
    server, _ = served
    requests = [
        f"GET /reports/{DAY}/demo-book.md\x00/../../secret.md HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /reports/%00/secret.md HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://127.0.0.1/secret.md HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET http://127.0.0.1/reports/{DAY}/../../secret.md HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET file:///etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /reports/..\\secret HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /reports/%ff%fe/x.md HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET ../secret.md HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    for req in requests:
        reply = _raw(server, req.encode("latin-1"))
        status = int(reply.split(b" ", 2)[1])
        assert status in (400, 404), req
        assert SECRET.encode() not in reply, req
    assert b"/etc/passwd" not in _raw(server, b"GET /etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")


def test_report_modules_import_neither_dagster_nor_sqlalchemy():
    code = ("import sys\n"
            "import sigmasight_pipeline.reports.render, sigmasight_pipeline.reports.server\n"
            "bad = [m for m in ('dagster', 'sqlalchemy') if m in sys.modules]\n"
            "assert not bad, bad\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 0, result.stderr


HOSTILE_NAME = '<script>alert("x")</script> <img src=x onerror=alert(1)>'
REPORT_MD = f"""# Portfolio report: {HOSTILE_NAME}

| Symbol | Market value |
|---|---:|
| AAPL | $1,234.50 |

[click](javascript:alert(1))

![Cumulative P&L and exposure](demo-book.png)
"""


def test_html_view_renders_tables_chart_and_keeps_hostile_text_inert(served):
    server, root = served
    (root / DAY / "demo-book.md").write_text(REPORT_MD, encoding="utf-8")
    status, headers, body = _get(server, f"/reports/{DAY}/demo-book.html")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    page = body.decode()
    assert "<table>" in page and "<th>Symbol</th>" in page
    assert '<td>AAPL</td>' in page and "$1,234.50" in page
    assert '<img src="demo-book.png"' in page  # the chart, inline from the raw PNG's URL
    # the hostile name is text: escaped, never a tag or an attribute
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page  # left as plain text, not a link
    # raw files stay downloadable, and the page links to them and to the Dagster UI
    assert f'href="/reports/{DAY}/demo-book.md"' in page
    assert f'href="/reports/{DAY}/demo-book.csv"' in page
    assert 'href="http://127.0.0.1:3000"' in page
    assert "@media print" in page
    status, headers, raw = _get(server, f"/reports/{DAY}/demo-book.md")
    assert status == 200 and raw == REPORT_MD.encode()
    assert headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert _get(server, f"/reports/{DAY}/demo-book.html", method="HEAD")[2] == b""


def test_index_navigates_days_and_portfolios_and_lists_failures(tmp_path):
    root = tmp_path / "reports"
    for day in ("2025-06-27", DAY):
        (root / day).mkdir(parents=True)
        for slug in ("alpha", "beta"):
            (root / day / f"{slug}.md").write_text(f"# {slug} {day}\n")
            (root / day / f"{slug}.csv").write_text("Symbol\n")
    failures = [{"run_id": "0123456789abcdef", "job": "daily_risk",
                 "failed_at": "2025-06-30 18:05", "partitions": DAY,
                 "message": "<b>boom</b> in position_greeks"}]
    server = start_in_background(root, port=0, dagster_url="http://127.0.0.1:3999",
                                 failures=lambda: failures)
    try:
        status, _, body = _get(server, "/reports/")
        page = body.decode()
        assert status == 200
        assert f'href="/reports/{DAY}/"' in page and 'href="/reports/2025-06-27/"' in page
        assert 'href="http://127.0.0.1:3999"' in page
        assert 'href="http://127.0.0.1:3999/runs/0123456789abcdef"' in page
        assert "daily_risk" in page and "&lt;b&gt;boom&lt;/b&gt;" in page
        status, _, body = _get(server, f"/reports/{DAY}/")
        page = body.decode()
        assert f'href="/reports/{DAY}/alpha.html"' in page
        assert f'href="/reports/{DAY}/beta.csv"' in page
        assert 'href="/reports/2025-06-27/"' in page  # previous day
        status, _, body = _get(server, f"/reports/{DAY}/alpha.html")
        assert status == 200 and b'href="/reports/2025-06-27/alpha.html"' in body
    finally:
        server.shutdown()
        server.server_close()
