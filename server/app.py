"""The application factory: the only place where the service is wired together."""

from __future__ import annotations

from flask import Flask, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from server.api import (
    alarms,
    audit,
    auth,
    casefiles,
    checklists,
    cors,
    devices,
    enterprises,
    field_records,
    figures,
    gas_limits,
    hazards,
    headers,
    health,
    inspections,
    jobs,
    jurisdictions,
    order_check,
    orders,
    permits,
    photos,
    public_reports,
    request_log,
    review,
    scan,
    spaces,
    uploads,
    users,
    violations,
    webhooks,
)
from server.api import sync as sync_api
from server.api.context import Services
from server.api.json import OrjsonProvider
from server.api.problems import ProblemApi
from server.api.tus_http import TusRequests
from server.cli import register_commands
from server.config import Settings
from server.db import connect_mongo, redis_client
from server.logs import configure_logging
from server.services.login_throttle import LoginThrottle
from server.web import report as web_report
from server.web import review as web_review
from server.web import session as web_session
from server.web import worker as web_worker
from server.wiring import wire
from sync.mutation import MAX_BATCH, MAX_RECORD_BYTES

BLUEPRINTS = (
    health.blp,
    auth.blp,
    jurisdictions.blp,
    enterprises.blp,
    users.blp,
    devices.blp,
    checklists.blp,
    gas_limits.blp,
    sync_api.blp,
    inspections.blp,
    scan.blp,
    spaces.blp,
    permits.blp,
    alarms.blp,
    violations.blp,
    hazards.blp,
    public_reports.blp,
    orders.blp,
    webhooks.blp,
    order_check.blp,
    field_records.blp,
    uploads.blp,
    photos.blp,
    audit.blp,
    jobs.blp,
    casefiles.blp,
    review.blp,
    figures.blp,
)

#: Room for what surrounds the largest payload: a push's envelope and the JSON between its
#: records (a tus PATCH body is the photo's bytes alone).
BODY_MARGIN = 1024 * 1024


def max_content_length(settings: Settings) -> int:
    """The largest request body any endpoint accepts (werkzeug answers 413 above it): a whole
    photo in one tus PATCH, or a push of MAX_BATCH records of MAX_RECORD_BYTES."""
    return max(settings.max_upload_bytes, MAX_BATCH * MAX_RECORD_BYTES) + BODY_MARGIN


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app from settings (default: the environment)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, request_log.RequestIdFilter())
    app = Flask("server")
    app.json = OrjsonProvider(app)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=max_content_length(settings),
        API_TITLE="Safety inspection API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        # Served by this app (below), so the docs work on a network without the internet.
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",
    )
    connect_mongo(settings)
    redis = redis_client(settings)
    wire(settings, redis, relay=True)
    app.extensions["safety"] = Services(
        settings=settings,
        redis=redis,
        login_throttle=LoginThrottle(redis, settings.login_rate_limit),
        report_throttle=LoginThrottle(redis, settings.public_report_rate_limit),
    )
    request_log.install(app)
    headers.install(app)
    cors.install(app, settings.cors_origins)

    api = ProblemApi(app)
    api.spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "from POST /api/v1/auth/token"},
    )
    api.spec.options["security"] = [{"bearerAuth": []}]
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)

    @app.get("/docs/assets/<path:filename>")
    def swagger_assets(filename):
        return send_from_directory(swagger_ui_path, filename, max_age=86400)

    app.register_blueprint(web_report.bp)
    web_session.install(app, settings)
    app.register_blueprint(web_worker.bp)
    web_review.install(app)
    register_commands(app)
    app.wsgi_app = TusRequests(app.wsgi_app, prefix="/api/v1/uploads")
    return app
