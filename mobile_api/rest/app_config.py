"""What the resident app asks before its first screen (DESIGN.md §2 mobile_api/rest):

    GET  /m/v1/config              sign-in (Firebase web config, or development sign-in) and map
                                   settings; no secrets (the Firebase web key is public by design)
    POST /m/v1/dev/token           {"uid": "demo-resident-1"} → an emulator ID token; only when
                                   FIREBASE_AUTH_EMULATOR_HOST is set outside production
    GET  /m/v1/regions.geojson     region outlines (?level=CITY|COUNTY, ?crs=WGS84|GCJ02|BD09),
                                   simplified: the map's base layer, with no tile server at all

Refusals are JSON `{"error": {"code", "message"}}` like the other /m/v1 answers."""

from __future__ import annotations

import functools
import json

from flask import Blueprint, Response, current_app, jsonify, request

from backend.accounts.dev_token import emulator_token
from backend.fixtures.demo_accounts import DEMO_WORKERS
from backend.places.city_clusters import member_regions
from geodata import crs as crs_module
from geodata.regions import RegionLevel
from mobile_api.request_log import note_error_codes

app_config = Blueprint("app_config", __name__, url_prefix="/m/v1")

DEV_TOKEN_SECONDS = 3600
# The residents the development sign-in screen offers (any uid of 1–128 characters works).
DEMO_RESIDENTS = [
    {"uid": "demo-resident-1", "name": "王阿姨（上海）"},
    {"uid": "demo-resident-2", "name": "李先生（杭州）"},
    {"uid": "demo-resident-3", "name": "张大爷（南京）"},
]
# Degrees: about 500 m for cities, 150 m for counties — finer than a phone shows at that zoom.
OUTLINE_TOLERANCE = {RegionLevel.CITY: 0.005, RegionLevel.COUNTY: 0.0015}
OUTLINE_DECIMALS = 4


def _settings():
    return current_app.extensions["servicemap"].settings


def dev_sign_in_available(settings) -> bool:
    return bool(settings.firebase_auth_emulator_host) and not settings.is_production


def _error(status: int, code: str, message: str) -> Response:
    note_error_codes([code])
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    return response


@app_config.get("/config")
def config() -> Response:
    settings = _settings()
    firebase = None
    if settings.firebase_web_api_key and settings.firebase_project_id:
        firebase = {"apiKey": settings.firebase_web_api_key,
                    "authDomain": settings.firebase_auth_domain
                    or f"{settings.firebase_project_id}.firebaseapp.com",
                    "projectId": settings.firebase_project_id,
                    "appId": settings.firebase_app_id,
                    "messagingSenderId": settings.firebase_messaging_sender_id,
                    "vapidKey": settings.firebase_vapid_key}
    dev = dev_sign_in_available(settings)
    response = jsonify(
        appEnv=settings.app_env,
        firebase=firebase,
        devSignIn=dev,
        demoResidents=DEMO_RESIDENTS if dev else [],
        # the window clerk, editor and admin that `seed demo` grants (the consoles)
        demoWorkers=DEMO_WORKERS if dev else [],
        map={"tileUrl": settings.map_tile_url, "tileCrs": settings.map_tile_crs,
             "attribution": settings.map_tile_attribution},
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@app_config.post("/dev/token")
def dev_token() -> Response:
    settings = _settings()
    if not dev_sign_in_available(settings):
        return _error(404, "NOT_FOUND", "开发登录仅在开发环境可用")
    body = request.get_json(silent=True)
    uid = body.get("uid") if isinstance(body, dict) else None
    if not isinstance(uid, str) or not uid.strip() or len(uid) > 128:
        return _error(400, "INVALID_INPUT", "uid 须为 1–128 个字符")
    token = emulator_token(uid, settings.firebase_project_id or "demo-servicemap",
                           expires_in=DEV_TOKEN_SECONDS)
    response = jsonify(token=token, uid=uid, expiresIn=DEV_TOKEN_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


@functools.lru_cache(maxsize=8)
def region_outlines(level: RegionLevel, crs: crs_module.CRS) -> bytes:
    """A GeoJSON FeatureCollection of the level's regions in the city clusters, simplified, in
    `crs` (lon/lat)."""
    # Imported here: the outlines are built once per level and CRS (cached), and a PostGIS
    # server need not load numpy and shapely for anything else (issue 18, memory).
    import numpy as np
    import shapely

    records = member_regions(level)
    geometries = shapely.simplify(
        [record.geometry for record in records], OUTLINE_TOLERANCE[level],
        preserve_topology=True)
    if crs is not crs_module.CRS.WGS84:
        def convert(coords):
            lat, lon = crs_module.from_wgs84(coords[:, 1], coords[:, 0], crs)
            return np.column_stack([lon, lat])

        geometries = shapely.transform(geometries, convert)
    geometries = shapely.set_precision(geometries, 10 ** -OUTLINE_DECIMALS)
    features = [{"type": "Feature",
                 "properties": {"code": record.code, "name": record.name},
                 "geometry": json.loads(shapely.to_geojson(geometry))}
                for record, geometry in zip(records, geometries, strict=True)]
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@app_config.get("/regions.geojson")
def regions_geojson() -> Response:
    try:
        level = RegionLevel(request.args.get("level", "CITY").upper())
        crs = crs_module.CRS(request.args.get("crs", "WGS84").upper())
        if level is RegionLevel.PROVINCE:
            raise ValueError(level)
    except ValueError:
        return _error(400, "BAD_USER_INPUT",
                      "level 须为 CITY 或 COUNTY，crs 须为 WGS84、GCJ02 或 BD09")
    response = Response(region_outlines(level, crs), content_type="application/geo+json")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
