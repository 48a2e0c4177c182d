"""The resident app (a Vue/Vite build in mobile_api/web/dist, made by `make run`), served by Flask.

    GET /, /places/<id>, /items/<id>, /me, …  index.html (history fallback), never cached;
    GET /staff, /editor, /admin                also: the consoles (their code in their own chunks)
    GET /assets/<hashed file>                  cached for a year (the name changes with the content)
    GET /sw.js, /manifest.webmanifest, /icons  the service worker (never cached), the PWA manifest
    GET /graphql in a browser                  GraphiQL from our own build (development only)

The routes of the API (/graphql, /m/v1/…, /healthz, /readyz) are registered before the
fallback and keep their answers; an unknown path outside the app's routes is a 404."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, request, send_from_directory

WEB_DIR = Path(__file__).resolve().parent
DIST_DIR = WEB_DIR / "dist"
GRAPHIQL_DIR = DIST_DIR / "graphiql"
# First path segments of the app's client routes (src/router.js): they all answer index.html.
CLIENT_ROUTES = ("", "map", "places", "items", "book", "me", "messages", "signin",
                 "staff", "editor", "admin")
YEAR = 365 * 24 * 3600

web = Blueprint("web", __name__)


def _file(directory: Path, name: str, cache: str, mimetype: str | None = None) -> Response:
    if not (directory / name).is_file():
        abort(404)
    response = send_from_directory(directory, name, mimetype=mimetype, max_age=None)
    response.headers["Cache-Control"] = cache
    return response


def _index() -> Response:
    if not (DIST_DIR / "index.html").is_file():
        return Response("应用尚未构建（The app is not built: run `make run`, which needs Node 20 "
                        "and npm.）", status=503, content_type="text/plain; charset=utf-8")
    return _file(DIST_DIR, "index.html", "no-cache")


@web.get("/")
@web.get("/<path:path>")
def app_route(path: str = "") -> Response:
    if path.split("/", 1)[0] not in CLIENT_ROUTES:
        abort(404)
    return _index()


@web.get("/assets/<path:name>")
def asset(name: str) -> Response:
    cache = f"public, max-age={YEAR}, immutable"
    directory = DIST_DIR / "assets"
    if "gzip" in request.accept_encodings and (directory / f"{name}.gz").is_file():
        # The build wrote it gzipped: sent as it is, under the original file's type.
        response = _file(directory, f"{name}.gz", cache, mimetypes.guess_type(name)[0])
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
        return response
    return _file(directory, name, cache)


@web.get("/sw.js")
def service_worker() -> Response:
    response = _file(DIST_DIR, "sw.js", "no-cache", "text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@web.get("/manifest.webmanifest")
def manifest() -> Response:
    return _file(DIST_DIR, "manifest.webmanifest", "no-cache", "application/manifest+json")


@web.get("/icons/<name>")
def icon(name: str) -> Response:
    return _file(DIST_DIR / "icons", name, "public, max-age=86400")


@web.get("/graphiql-static/assets/<path:name>")
def graphiql_asset(name: str) -> Response:
    if current_app.extensions["servicemap"].settings.is_production:
        abort(404)
    return _file(GRAPHIQL_DIR / "assets", name, f"public, max-age={YEAR}, immutable")


def _graphiql_page() -> Response | None:
    """GraphiQL for a browser's GET /graphql in development, from our build (works offline)."""
    if (request.path != "/graphql" or request.method != "GET"
            or current_app.extensions["servicemap"].settings.is_production
            or request.accept_mimetypes.best_match(["application/json", "text/html"])
            != "text/html" or "query" in request.args
            or not (GRAPHIQL_DIR / "graphiql.html").is_file()):
        return None
    return _file(GRAPHIQL_DIR, "graphiql.html", "no-cache")


def init_app(app: Flask) -> None:
    app.register_blueprint(web)
    app.before_request(_graphiql_page)
