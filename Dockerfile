# One image for every SigmaSight container: the code location (gRPC server running the
# runs), the Dagster webserver and the daemon (docker-compose.yml). Settings come from the
# environment (SIGMASIGHT_DATABASE_URL, SIGMASIGHT_DAGSTER_PG_URL, POLYGON_API_KEY, ...).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/home \
    SIGMASIGHT_HOME=/opt/dagster/sigmasight \
    SIGMASIGHT_REPORTS_DIR=/data/reports

WORKDIR /opt/sigmasight
# dependencies first (cached while only the code changes)
COPY pyproject.toml README.md ./
RUN mkdir sigmasight_pipeline && touch sigmasight_pipeline/__init__.py \
    && pip install --no-cache-dir -e . && rm -rf sigmasight_pipeline
# editable install: Alembic's migrations/ are read from the source tree
COPY . .
RUN pip install --no-cache-dir --no-deps -e . \
    && mkdir -p "$DAGSTER_HOME" "$SIGMASIGHT_HOME" /data/reports \
    && cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"

EXPOSE 3000 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", \
     "-m", "sigmasight_pipeline.definitions"]
