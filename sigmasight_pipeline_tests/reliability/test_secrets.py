"""Secrets never leave: a real `sigmasight materialize` with Polygon and FRED keys (both
providers pointed at a local HTTP server) and a database password in the URL; every byte of
output, every Dagster event (with its metadata), every data-quality message, the settings'
repr and the providers' reprs are searched for the three secrets."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url
from werkzeug import Response

from sigmasight_pipeline.cli import main
from sigmasight_pipeline.settings import get_settings
from sigmasight_pipeline.warehouse.database import get_engine

D = dt.date(2025, 6, 30)
POLYGON_KEY = "PolyK3y-LEAKCHECK-7f3a9"
FRED_KEY = "fredk3yleakcheck0b12c"
DB_PASSWORD = "DbPw-LEAKCHECK-5e8d"
SECRETS = (POLYGON_KEY, FRED_KEY, DB_PASSWORD)
ROLE = "reliability_secret_role"
#: a line of the local test server's access log (werkzeug), which is not the product's
ACCESS_LOG = re.compile(r'- - \[[^]]+\] "(GET|POST) ')


def _fred_answer(request):
    if request.args.get("api_key") != FRED_KEY:
        return Response("bad key", status=400)
    start = request.args["observation_start"]
    rows = "".join(f'<observation date="{start}" value="4.{i}"/>' for i in range(3))
    return Response(f'<?xml version="1.0"?><observations>{rows}</observations>',
                    content_type="text/xml")


_calls = {"fred": 0}


def _fred_once_429_then(request):
    _calls["fred"] += 1
    if _calls["fred"] == 1:  # one retry, so the warning path with the URL is exercised
        return Response("slow down", status=429, headers={"Retry-After": "0"})
    return _fred_answer(request)


def _polygon_answer(request):
    if request.headers.get("Authorization") != f"Bearer {POLYGON_KEY}":
        return Response('{"status":"ERROR"}', status=401)
    if request.path.startswith("/v2/aggs/ticker/SPY/"):  # a 500 once per symbol: retried
        _calls.setdefault(request.full_path, 0)
        _calls[request.full_path] += 1
        if _calls[request.full_path] == 1:
            return Response(f"upstream error for key {POLYGON_KEY}", status=500)
    return Response('{"status":"OK","request_id":"r","results":[]}',
                    content_type="application/json")


@pytest.fixture
def password_url(database_url, engine):
    with engine.begin() as conn:
        conn.execute(text(f"DROP ROLE IF EXISTS {ROLE}"))
        conn.execute(text(f"CREATE ROLE {ROLE} LOGIN SUPERUSER PASSWORD '{DB_PASSWORD}'"))
    url = make_url(database_url).set(username=ROLE, password=DB_PASSWORD)
    yield url.render_as_string(hide_password=False)
    get_engine(url.render_as_string(hide_password=False)).dispose()
    with engine.begin() as conn:
        conn.execute(text(f"DROP OWNED BY {ROLE}"))
        conn.execute(text(f"DROP ROLE IF EXISTS {ROLE}"))


def test_no_secret_in_any_output_event_issue_or_repr(demo_book, cli_env, password_url,
                                                     httpserver_ipv4, monkeypatch, capfd,
                                                     caplog):
    from sigmasight_pipeline import resources
    from sigmasight_pipeline.providers.factory import CompositeProvider
    from sigmasight_pipeline.providers.fred import FredProvider
    from sigmasight_pipeline.providers.polygon import PolygonProvider

    server = httpserver_ipv4
    server.expect_request("/fred/series/observations").respond_with_handler(_fred_once_429_then)
    server.expect_request(re.compile("^/v.*")).respond_with_handler(_polygon_answer)
    built = []

    def local_providers(source, *, polygon_api_key=None, fred_api_key=None, **_):
        # the keys arrive through the real settings → resource path; only the URLs and
        # the waits differ from production
        assert source == "polygon"
        provider = CompositeProvider(
            market=PolygonProvider(polygon_api_key, base_url=server.url_for("/").rstrip("/"),
                                   max_requests_per_minute=None, backoff_seconds=0.01),
            rates=FredProvider(fred_api_key, base_url=server.url_for("/fred"),
                               backoff_seconds=0.01))
        built.append(provider)
        return provider

    monkeypatch.setattr(resources, "build_provider", local_providers)
    for name, value in {"SIGMASIGHT_DATABASE_URL": password_url, "POLYGON_API_KEY": POLYGON_KEY,
                        "FRED_API_KEY": FRED_KEY, "SIGMASIGHT_MARKET_DATA": "polygon",
                        "SIGMASIGHT_HOME": str(cli_env / "home"),
                        "SIGMASIGHT_DAGSTER_PG_URL": ""}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    caplog.set_level(logging.DEBUG)

    runner = CliRunner()
    upgrade = runner.invoke(main, ["db", "upgrade"])
    run = runner.invoke(main, ["materialize", "--date", D.isoformat()])
    assert built, "the run did not build the providers"
    assert upgrade.exit_code == 0, upgrade.output
    assert "***" in upgrade.output  # the URL is shown, its password hidden
    assert "materialized market_prices" in run.output, run.output

    from dagster import DagsterInstance
    from dagster._serdes import serialize_value

    seen = [upgrade.output, run.output, repr(run.exception), repr(get_settings()),
            str(get_settings()), repr(built)]
    # every log record of the process, except the local test server's own access log
    seen += [f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
             if not r.name.startswith("werkzeug")]
    with DagsterInstance.get() as instance:
        records = instance.get_run_records()
        assert records
        for record in records:
            seen.append(serialize_value(record.dagster_run))
            entries = instance.all_logs(record.dagster_run.run_id)
            seen.extend(serialize_value(entry) for entry in entries)
    with demo_book.connect() as conn:
        seen.extend(r[0] for r in conn.execute(text(
            "SELECT message FROM sigmasight.data_quality_issues")))
    out, err = capfd.readouterr()
    seen += [line for line in (out + err).splitlines() if not ACCESS_LOG.search(line)]
    assert any("retrying" in s or "attempt 1" in s for s in seen), "no retry path exercised"
    everything = "\n".join(seen)
    for secret in SECRETS:
        assert secret not in everything, f"{secret[:6]}… leaked"
