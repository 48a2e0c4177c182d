"""Settings read from the environment (12-factor): one place, typed, validated at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "instance" / "servicemap.sqlite3"
APP_ENVS = ("development", "production", "test")


# Booking rules: setting (its variable is the name in upper case) → allowed range.
BOOKING_LIMITS = {
    "booking_horizon_days": (1, 366),
    "booking_cutoff_minutes": (0, 7 * 24 * 60),
    "booking_max_active": (1, 100),
    "booking_max_per_item_per_day": (1, 100),
    "slot_generation_days": (1, 366),
    "staff_horizon_days": (1, 366),
}

# Push delivery (NOTIFY_* variables) → allowed range.
NOTIFY_LIMITS = {
    "notify_batch_size": (1, 500),            # FCM's send_each takes at most 500
    "notify_lease_seconds": (5, 3600),
    "notify_max_attempts": (1, 50),
    "notify_retry_base_seconds": (0, 3600),
    "notify_retry_max_seconds": (0, 86400),
    "notify_http_timeout_seconds": (1, 120),
    "notify_device_ttl_days": (1, 3650),
}
# What one GraphQL document may ask (GRAPHQL_* variables) → allowed range.
GRAPHQL_LIMITS = {
    "graphql_max_tokens": (100, 100_000),
    "graphql_max_depth": (2, 100),
    "graphql_max_aliases": (0, 10_000),
    "graphql_max_root_fields": (1, 1000),
    "graphql_max_cost": (100, 100_000_000),
    "graphql_timeout_ms": (1, 600_000),
    "graphql_document_cache_bytes": (0, 4 * 1024**3),
}
# Rate-limit budgets (RATE_LIMIT_* variables): setting → default, in the `limits` notation
# ("10/minute;100/day"). mobile_api/graphql/rate_limits.py says what each one counts.
RATE_LIMITS = {
    "rate_limit_default": "300/minute",
    "rate_limit_search": "60/minute",
    "rate_limit_booking": "10/minute;30/day",
    "rate_limit_booking_per_ip": "60/hour",
    "rate_limit_devices": "20/hour",
    "rate_limit_reports": "5/minute;30/day",
    "rate_limit_auth_failures": "10/minute",
}
# PUSH_PROVIDER name → "module:factory" (backend.notify.providers imports it on use:
# firebase-admin costs memory a web worker never needs).
PUSH_PROVIDERS = {
    "log": "backend.notify.providers.log:LogProvider.from_settings",
    "fcm": "backend.notify.providers.fcm:FcmProvider.from_settings",
}
# GEOCODER: which geopy geocoder geocodeAddress asks (offline: our places and region names).
GEOCODERS = ("offline", "baidu", "nominatim")
# Datums a map tile layer may be drawn in (MAP_TILE_CRS): the app asks the API for positions in it.
MAP_TILE_CRS = ("WGS84", "GCJ02", "BD09")
# One origin of CORS_ORIGINS: scheme, host and an optional port, nothing more.
ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
QUIET_HOURS = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])")


class ConfigError(ValueError):
    """The environment describes a configuration the service must not start with."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    app_env: str = "development"
    port: int = 8000
    firebase_project_id: str | None = None
    firebase_auth_emulator_host: str | None = None
    google_application_credentials: str | None = None
    push_provider: str = "log"
    fcm_endpoint: str | None = None
    # Where firebase-admin fetches the public keys of ID tokens (default: Google's). Tests point
    # it at a local endpoint serving their own key; refused in production.
    firebase_certs_url: str | None = None
    # Booking rules (BOOKING_* variables).
    booking_horizon_days: int = 14
    booking_cutoff_minutes: int = 30
    booking_max_active: int = 3
    booking_max_per_item_per_day: int = 1
    slot_generation_days: int = 14
    staff_horizon_days: int = 90
    # Push delivery (NOTIFY_* variables).
    notify_batch_size: int = 500
    notify_lease_seconds: int = 120
    notify_max_attempts: int = 8
    notify_retry_base_seconds: int = 30
    notify_retry_max_seconds: int = 6 * 3600
    notify_http_timeout_seconds: int = 10
    notify_device_ttl_days: int = 60
    # Non-urgent pushes wait until the end of this span (Beijing time); "" for none.
    notify_quiet_hours: str = "22:00-07:00"
    # Only the documents of graphql/operations/ run (TRUSTED_DOCUMENTS_ONLY; default: on in
    # production, off elsewhere). Off in production only for the benchmarks' ad hoc queries.
    trusted_documents_only: bool | None = None
    # Rate limits (Flask-Limiter): on unless RATE_LIMITS_ENABLED=0 (default: off only in the
    # test environment, whose suites send hundreds of requests as one client).
    rate_limits_enabled: bool | None = None
    rate_limit_storage_uri: str = "memory://"
    rate_limit_key_prefix: str = "servicemap"
    rate_limit_trusted_proxies: str = ""
    rate_limit_default: str = RATE_LIMITS["rate_limit_default"]
    rate_limit_search: str = RATE_LIMITS["rate_limit_search"]
    rate_limit_booking: str = RATE_LIMITS["rate_limit_booking"]
    rate_limit_booking_per_ip: str = RATE_LIMITS["rate_limit_booking_per_ip"]
    rate_limit_devices: str = RATE_LIMITS["rate_limit_devices"]
    rate_limit_reports: str = RATE_LIMITS["rate_limit_reports"]
    rate_limit_auth_failures: str = RATE_LIMITS["rate_limit_auth_failures"]
    # GraphQL limits (GRAPHQL_* variables, mobile_api/graphql/limits.py).
    graphql_max_tokens: int = 2000
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 100
    graphql_max_root_fields: int = 100
    graphql_max_cost: int = 100_000
    graphql_timeout_ms: int = 10_000
    graphql_document_cache_bytes: int = 32 * 1024**2
    # Trusted queries run by their execution plans (GRAPHQL_PLANS=0: graphql-core runs all).
    graphql_plans: bool = True
    # SQLite: a process's write transactions wait their turn in a queue of the process instead
    # of sleeping in SQLite's busy handler (SQLITE_WRITE_QUEUE=0: SQLite's handler alone).
    sqlite_write_queue: bool = True
    # The resident app's map (MAP_TILE_*): an optional tile layer over our own region outlines,
    # e.g. https://tiles.example.cn/{z}/{x}/{y}.png, in its datum, with its attribution.
    map_tile_url: str | None = None
    map_tile_crs: str = "WGS84"
    map_tile_attribution: str | None = None
    # Firebase Auth's web SDK in the resident app (phone sign-in), from the Firebase console.
    firebase_web_api_key: str | None = None
    firebase_auth_domain: str | None = None
    firebase_app_id: str | None = None
    # Web push through FCM (optional): the sender id and the VAPID public key of the project.
    firebase_messaging_sender_id: str | None = None
    firebase_vapid_key: str | None = None
    # Geocoding (GEOCODER_* variables; BAIDU_MAP_AK is Baidu's key): the provider, an optional
    # base URL of its API (an egress proxy; the tests' fake), requests per second and cache.
    geocoder: str = "offline"
    baidu_map_ak: str | None = None
    geocoder_url: str | None = None
    geocoder_user_agent: str = "servicemap-editor-console"
    geocoder_min_delay_ms: int = 1000
    geocoder_cache_days: int = 30
    # Browser origins other than our own that may call /graphql and /m/v1 (CORS_ORIGINS,
    # separated by commas): none by default.
    cors_origins: tuple[str, ...] = ()
    # Salt of the hashed user id in the request log (LOG_USER_SALT): without it a uid's hash
    # can be recomputed by anyone who knows the uid.
    log_user_salt: str = ""

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def trusted_only(self) -> bool:
        if self.trusted_documents_only is None:
            return self.is_production
        return self.trusted_documents_only

    @property
    def rate_limiting(self) -> bool:
        if self.rate_limits_enabled is None:
            return self.app_env != "test"
        return self.rate_limits_enabled

    @property
    def graphiql_enabled(self) -> bool:
        return not self.is_production

    def _validate_rate_limits(self) -> None:
        from ipaddress import ip_network

        from limits import parse_many

        for name in RATE_LIMITS:
            try:
                parse_many(getattr(self, name))
            except ValueError as exc:
                raise ConfigError(f"{name.upper()} must look like 10/minute;100/day, got "
                                  f"{getattr(self, name)!r}") from exc
        for proxy in filter(None, map(str.strip, self.rate_limit_trusted_proxies.split(","))):
            try:
                ip_network(proxy, strict=False)
            except ValueError as exc:
                raise ConfigError("RATE_LIMIT_TRUSTED_PROXIES must be addresses or networks "
                                  f"separated by commas, got {proxy!r}") from exc
        if not self.rate_limit_storage_uri.startswith(("memory://", "redis://", "rediss://")):
            raise ConfigError("RATE_LIMIT_STORAGE_URI must be memory:// or redis://…, got "
                              f"{self.rate_limit_storage_uri!r}")
        if (self.is_production and self.rate_limiting
                and not self.rate_limit_storage_uri.startswith(("redis://", "rediss://"))):
            # Counters in memory are per worker: N workers would give every client N budgets.
            raise ConfigError("RATE_LIMIT_STORAGE_URI must be a redis:// URL in production")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        read: list[str] = []

        def get(name: str) -> str | None:
            read.append(name)
            value = env.get(name, "").strip()
            return value or None

        def integer(name: str, default: int) -> int:
            value = get(name)
            if value is None:
                return default
            try:
                return int(value)
            except ValueError as exc:
                raise ConfigError(f"{name} must be an integer, got {value!r}") from exc

        def boolean(name: str) -> bool | None:
            value = get(name)
            if value is None:
                return None
            if value.lower() not in ("0", "1", "true", "false"):
                raise ConfigError(f"{name} must be 0 or 1, got {value!r}")
            return value.lower() in ("1", "true")

        port = integer("PORT", 8000)
        settings = cls(
            database_url=get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}",
            app_env=get("APP_ENV") or "development",
            port=port,
            firebase_project_id=get("FIREBASE_PROJECT_ID"),
            firebase_auth_emulator_host=get("FIREBASE_AUTH_EMULATOR_HOST"),
            google_application_credentials=get("GOOGLE_APPLICATION_CREDENTIALS"),
            push_provider=get("PUSH_PROVIDER") or "log",
            fcm_endpoint=get("FCM_ENDPOINT"),
            firebase_certs_url=get("FIREBASE_CERTS_URL"),
            **{name: integer(name.upper(), getattr(cls, name))
               for name in (*BOOKING_LIMITS, *NOTIFY_LIMITS, *GRAPHQL_LIMITS)},
            trusted_documents_only=boolean("TRUSTED_DOCUMENTS_ONLY"),
            rate_limits_enabled=boolean("RATE_LIMITS_ENABLED"),
            graphql_plans=boolean("GRAPHQL_PLANS") is not False,
            sqlite_write_queue=boolean("SQLITE_WRITE_QUEUE") is not False,
            rate_limit_storage_uri=get("RATE_LIMIT_STORAGE_URI") or "memory://",
            rate_limit_key_prefix=get("RATE_LIMIT_KEY_PREFIX") or "servicemap",
            rate_limit_trusted_proxies=get("RATE_LIMIT_TRUSTED_PROXIES") or "",
            **{name: get(name.upper()) or default for name, default in RATE_LIMITS.items()},
            map_tile_url=get("MAP_TILE_URL"),
            map_tile_crs=get("MAP_TILE_CRS") or "WGS84",
            map_tile_attribution=get("MAP_TILE_ATTRIBUTION"),
            firebase_web_api_key=get("FIREBASE_WEB_API_KEY"),
            firebase_auth_domain=get("FIREBASE_AUTH_DOMAIN"),
            firebase_app_id=get("FIREBASE_APP_ID"),
            firebase_messaging_sender_id=get("FIREBASE_MESSAGING_SENDER_ID"),
            firebase_vapid_key=get("FIREBASE_VAPID_KEY"),
            geocoder=get("GEOCODER") or "offline",
            baidu_map_ak=get("BAIDU_MAP_AK"),
            geocoder_url=get("GEOCODER_URL"),
            geocoder_user_agent=get("GEOCODER_USER_AGENT") or cls.geocoder_user_agent,
            geocoder_min_delay_ms=integer("GEOCODER_MIN_DELAY_MS", cls.geocoder_min_delay_ms),
            geocoder_cache_days=integer("GEOCODER_CACHE_DAYS", cls.geocoder_cache_days),
            cors_origins=tuple(filter(None, map(str.strip, (get("CORS_ORIGINS") or "").split(
                ",")))),
            log_user_salt=get("LOG_USER_SALT") or "",
            notify_quiet_hours=(cls.notify_quiet_hours if "NOTIFY_QUIET_HOURS" not in env
                                else env["NOTIFY_QUIET_HOURS"].strip()),
        )
        if settings.is_production:
            # A variable set to blanks is a mistake, not "unset": firebase-admin, for one,
            # reads FIREBASE_AUTH_EMULATOR_HOST=" " itself and then refuses every sign-in.
            blank = sorted({name for name in read if name in env and not env[name].strip()})
            if blank:
                raise ConfigError(f"{', '.join(blank)} set but blank: refusing to start in "
                                  "production (unset them or give a value)")
        settings.validate(explicit_database_url=get("DATABASE_URL") is not None)
        return settings

    def validate(self, explicit_database_url: bool = True) -> None:
        if self.app_env not in APP_ENVS:
            allowed = ", ".join(APP_ENVS)
            raise ConfigError(f"APP_ENV must be one of {allowed}, got {self.app_env!r}")
        if not 0 < self.port < 65536:
            raise ConfigError(f"PORT out of range: {self.port}")
        if self.push_provider not in PUSH_PROVIDERS:
            allowed = ", ".join(PUSH_PROVIDERS)
            raise ConfigError(f"PUSH_PROVIDER must be one of {allowed}, got {self.push_provider!r}")
        for name, (low, high) in (BOOKING_LIMITS | NOTIFY_LIMITS | GRAPHQL_LIMITS).items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ConfigError(
                    f"{name.upper()} must be between {low} and {high}, got {value}")
        if self.slot_generation_days > self.staff_horizon_days:
            raise ConfigError("SLOT_GENERATION_DAYS must not exceed STAFF_HORIZON_DAYS")
        if self.notify_retry_base_seconds > self.notify_retry_max_seconds:
            raise ConfigError("NOTIFY_RETRY_BASE_SECONDS must not exceed NOTIFY_RETRY_MAX_SECONDS")
        # A claim must outlive the HTTP calls made under it, or a second worker could take
        # the messages over while the first is still sending them.
        if self.notify_lease_seconds < 3 * self.notify_http_timeout_seconds:
            raise ConfigError(
                "NOTIFY_LEASE_SECONDS must be at least 3 × NOTIFY_HTTP_TIMEOUT_SECONDS")
        if self.notify_quiet_hours and not QUIET_HOURS.fullmatch(self.notify_quiet_hours):
            raise ConfigError(
                f"NOTIFY_QUIET_HOURS must look like 22:00-07:00 (or be empty), "
                f"got {self.notify_quiet_hours!r}")
        if self.fcm_endpoint and not self.fcm_endpoint.startswith(("https://", "http://")):
            raise ConfigError(f"FCM_ENDPOINT must be an http(s) URL, got {self.fcm_endpoint!r}")
        if self.map_tile_crs not in MAP_TILE_CRS:
            allowed = ", ".join(MAP_TILE_CRS)
            raise ConfigError(f"MAP_TILE_CRS must be one of {allowed}, got {self.map_tile_crs!r}")
        if self.map_tile_url is not None and not (
                self.map_tile_url.startswith(("https://", "http://", "/"))
                and all(part in self.map_tile_url for part in ("{z}", "{x}", "{y}"))):
            raise ConfigError("MAP_TILE_URL must be an http(s) URL or a path with {z}, {x} and "
                              f"{{y}}, got {self.map_tile_url!r}")
        if self.map_tile_url and not self.map_tile_attribution:
            # Tile providers' terms (and 测绘 rules in China) require the credit on the map.
            raise ConfigError("MAP_TILE_URL needs MAP_TILE_ATTRIBUTION (the provider's credit)")
        if self.geocoder not in GEOCODERS:
            raise ConfigError(f"GEOCODER must be one of {', '.join(GEOCODERS)}, "
                              f"got {self.geocoder!r}")
        if self.geocoder == "baidu" and not self.baidu_map_ak:
            raise ConfigError("GEOCODER=baidu needs BAIDU_MAP_AK (the Baidu Maps key)")
        if self.geocoder_url is not None and not re.fullmatch(
                r"https?://[\w.-]+(:\d+)?/?", self.geocoder_url):
            raise ConfigError("GEOCODER_URL must be a base URL like https://host[:port], "
                              f"got {self.geocoder_url!r}")
        if not 0 <= self.geocoder_min_delay_ms <= 60_000 or not 0 <= self.geocoder_cache_days \
                <= 3650:
            raise ConfigError("GEOCODER_MIN_DELAY_MS must be 0–60000 and GEOCODER_CACHE_DAYS "
                              "0–3650")
        for origin in self.cors_origins:
            if not ORIGIN.fullmatch(origin):
                raise ConfigError("CORS_ORIGINS must be origins like https://app.example.cn "
                                  "(scheme, host, optional port) separated by commas, got "
                                  f"{origin!r}")
            if self.is_production and not origin.startswith("https://"):
                raise ConfigError("CORS_ORIGINS must be https:// origins in production, got "
                                  f"{origin!r}")
        if not self.database_url.startswith(("sqlite://", "postgresql")):
            raise ConfigError("DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
        if self.is_production:
            # Development conveniences must never reach production by accident.
            if self.firebase_auth_emulator_host:
                raise ConfigError(
                    "FIREBASE_AUTH_EMULATOR_HOST is set: refusing to start in production"
                )
            if self.firebase_certs_url:
                raise ConfigError("FIREBASE_CERTS_URL is set: refusing to start in production")
            if not explicit_database_url:
                raise ConfigError("DATABASE_URL must be set explicitly in production")
            if self.fcm_endpoint and not self.fcm_endpoint.startswith("https://"):
                raise ConfigError("FCM_ENDPOINT must be an https:// URL in production")
            if self.geocoder_url and not self.geocoder_url.startswith("https://"):
                raise ConfigError("GEOCODER_URL must be an https:// URL in production")
            if not self.firebase_project_id:
                raise ConfigError("FIREBASE_PROJECT_ID must be set in production")
        self._validate_rate_limits()
