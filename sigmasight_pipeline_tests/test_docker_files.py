"""Dockerfile, docker-compose.yml and workspace.docker.yaml, checked by parsing them (there
is no Docker engine in CI): the services, their images and builds, commands and settings."""

from __future__ import annotations

import re

import yaml

from sigmasight_pipeline.warehouse.migrate import PROJECT_ROOT

DAGSTER_SERVICES = ("code-location", "dagster-webserver", "dagster-daemon")


def _compose() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


def test_compose_has_postgres_webserver_daemon_and_code_location():
    services = _compose()["services"]
    assert {"postgres", "migrate", *DAGSTER_SERVICES} <= set(services)
    assert services["postgres"]["image"] == "postgres:16"
    assert "healthcheck" in services["postgres"]
    for name in ("migrate", *DAGSTER_SERVICES):
        service = services[name]
        assert service["build"] == "." and service["image"] == "sigmasight-pipeline:latest"
    assert services["migrate"]["command"] == ["sigmasight", "db", "upgrade"]
    assert services["code-location"]["command"][:3] == ["dagster", "code-server", "start"]
    assert services["dagster-webserver"]["command"][0] == "dagster-webserver"
    assert services["dagster-daemon"]["command"][:2] == ["dagster-daemon", "run"]
    for name in ("dagster-webserver", "dagster-daemon"):
        assert "workspace.docker.yaml" in services[name]["command"]
    assert services["code-location"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully")
    assert services["dagster-webserver"]["ports"] == ["127.0.0.1:3000:3000"]


def test_compose_settings_come_from_the_environment():
    services = _compose()["services"]
    for name in ("migrate", *DAGSTER_SERVICES):
        env = services[name]["environment"]
        assert env["SIGMASIGHT_DATABASE_URL"].startswith("postgresql://sigmasight:")
        assert "@postgres:5432/" in env["SIGMASIGHT_DATABASE_URL"]
        assert env["SIGMASIGHT_DAGSTER_PG_URL"].startswith("postgresql+psycopg2://")
        assert env["POLYGON_API_KEY"] == "${POLYGON_API_KEY:-}"  # from the host, never inline
        assert env["FRED_API_KEY"] == "${FRED_API_KEY:-}"
        assert env["DAGSTER_HOME"] == "/opt/dagster/home"
    assert "${POSTGRES_PASSWORD:-sigmasight}" in services["postgres"]["environment"][
        "POSTGRES_PASSWORD"]


def test_the_docker_workspace_points_at_the_code_location_grpc_server():
    (entry,) = yaml.safe_load((PROJECT_ROOT / "workspace.docker.yaml").read_text())["load_from"]
    grpc = entry["grpc_server"]
    command = _compose()["services"]["code-location"]["command"]
    assert grpc["host"] == "code-location"
    assert str(grpc["port"]) == command[command.index("-p") + 1]


def test_dockerfile_builds_the_package_on_python_311_slim():
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert "pip install" in text and "-e ." in text
    assert "dagster.yaml" in text and "DAGSTER_HOME=/opt/dagster/home" in text
    assert ".venv" in (PROJECT_ROOT / ".dockerignore").read_text()
