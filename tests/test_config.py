"""Settings from the environment: defaults, validation, and production safety."""

import pytest

from backend.config import DEFAULT_SQLITE_PATH, ConfigError, Settings


def test_settings__empty_environment__sqlite_development_defaults():
    settings = Settings.from_env({})
    assert settings.database_url == f"sqlite:///{DEFAULT_SQLITE_PATH}"
    assert (settings.app_env, settings.port, settings.push_provider) == ("development", 8000, "log")
    assert settings.graphiql_enabled


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"PUSH_PROVIDER": "carrier-pigeon"}, "PUSH_PROVIDER"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"APP_ENV": "production", "DATABASE_URL": "postgresql+psycopg://db/x",
          "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"}, "FIREBASE_AUTH_EMULATOR_HOST"),
        ({"APP_ENV": "production"}, "DATABASE_URL"),
        ({"APP_ENV": "production", "DATABASE_URL": "postgresql+psycopg://db/x"},
         "FIREBASE_PROJECT_ID"),
        ({"APP_ENV": "production", "DATABASE_URL": "postgresql+psycopg://db/x",
          "FIREBASE_PROJECT_ID": "p", "FIREBASE_CERTS_URL": "http://127.0.0.1:1/certs"},
         "FIREBASE_CERTS_URL"),
        ({"BOOKING_HORIZON_DAYS": "two weeks"}, "BOOKING_HORIZON_DAYS"),
        ({"BOOKING_MAX_ACTIVE": "0"}, "BOOKING_MAX_ACTIVE"),
        ({"SLOT_GENERATION_DAYS": "120"}, "SLOT_GENERATION_DAYS"),
        ({"NOTIFY_BATCH_SIZE": "501"}, "NOTIFY_BATCH_SIZE"),
        ({"NOTIFY_MAX_ATTEMPTS": "0"}, "NOTIFY_MAX_ATTEMPTS"),
        ({"NOTIFY_LEASE_SECONDS": "20", "NOTIFY_HTTP_TIMEOUT_SECONDS": "10"},
         "NOTIFY_LEASE_SECONDS"),
        ({"NOTIFY_RETRY_BASE_SECONDS": "600", "NOTIFY_RETRY_MAX_SECONDS": "60"},
         "NOTIFY_RETRY_BASE_SECONDS"),
        ({"NOTIFY_QUIET_HOURS": "10pm-7am"}, "NOTIFY_QUIET_HOURS"),
        ({"NOTIFY_QUIET_HOURS": "22:00-24:00"}, "NOTIFY_QUIET_HOURS"),
        ({"FCM_ENDPOINT": "fcm.example.com"}, "FCM_ENDPOINT"),
        ({"APP_ENV": "production", "DATABASE_URL": "postgresql+psycopg://db/x",
          "FIREBASE_PROJECT_ID": "p", "FCM_ENDPOINT": "http://proxy:8080"}, "FCM_ENDPOINT"),
        ({"CORS_ORIGINS": "*"}, "CORS_ORIGINS"),
        ({"CORS_ORIGINS": "https://app.example.cn/path"}, "CORS_ORIGINS"),
        ({"CORS_ORIGINS": "https://a.example.cn https://b.example.cn"}, "CORS_ORIGINS"),
        ({"CORS_ORIGINS": "app.example.cn"}, "CORS_ORIGINS"),
        ({"APP_ENV": "production", "DATABASE_URL": "postgresql+psycopg://db/x",
          "FIREBASE_PROJECT_ID": "p", "CORS_ORIGINS": "http://app.example.cn"}, "CORS_ORIGINS"),
    ],
    ids=["unknown-env", "port-not-int", "port-range", "push-provider", "db-scheme",
         "production-with-auth-emulator", "production-without-database-url",
         "production-without-project", "production-with-certs-url", "horizon-not-int",
         "max-active-zero", "generation-beyond-staff-horizon", "batch-over-fcm-limit",
         "no-attempts", "lease-shorter-than-3-timeouts", "backoff-base-over-cap",
         "quiet-hours-words", "quiet-hours-24", "fcm-endpoint-not-url",
         "production-fcm-endpoint-plain-http", "cors-wildcard", "cors-path", "cors-spaces",
         "cors-no-scheme", "production-cors-plain-http"],
)
def test_settings__bad_environment__refuses_to_start(environ, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


def test_settings__production__no_graphiql():
    settings = Settings.from_env(
        {"APP_ENV": "production", "DATABASE_URL": "postgresql+psycopg://db/servicemap",
         "FIREBASE_PROJECT_ID": "servicemap-prod", "RATE_LIMIT_STORAGE_URI": "redis://r:6379/0"}
    )
    assert settings.is_production and not settings.graphiql_enabled


def test_settings__quiet_hours__default_empty_or_custom():
    assert Settings.from_env({}).notify_quiet_hours == "22:00-07:00"
    assert Settings.from_env({"NOTIFY_QUIET_HOURS": ""}).notify_quiet_hours == ""
    assert Settings.from_env({"NOTIFY_QUIET_HOURS": "21:30-06:45"}).notify_quiet_hours == (
        "21:30-06:45")


def test_push_providers__config_and_registry__name_the_same_providers():
    from backend.config import PUSH_PROVIDERS
    from backend.notify.providers import PROVIDERS, factory_of

    assert set(PUSH_PROVIDERS) == set(PROVIDERS)
    # and every name the settings accept leads to a factory that exists
    for name in PUSH_PROVIDERS:
        assert callable(factory_of(name)), name


PRODUCTION = {"APP_ENV": "production", "DATABASE_URL": "postgresql+psycopg://db/x",
              "FIREBASE_PROJECT_ID": "p", "RATE_LIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}


@pytest.mark.parametrize("name", ["FIREBASE_AUTH_EMULATOR_HOST", "FIREBASE_PROJECT_ID",
                                  "DATABASE_URL", "GRAPHQL_MAX_COST", "PUSH_PROVIDER",
                                  "FIREBASE_CERTS_URL", "CORS_ORIGINS", "LOG_USER_SALT"])
@pytest.mark.parametrize("blank", ["", " ", "\t\n"])
def test_settings__production_blank_variable__refuses_to_start(name, blank):
    with pytest.raises(ConfigError, match=f"{name} set but blank"):
        Settings.from_env({**PRODUCTION, name: blank})


def test_settings__production_values_are_stripped():
    settings = Settings.from_env({**PRODUCTION, "FIREBASE_PROJECT_ID": "  p \n",
                                  "GRAPHQL_MAX_DEPTH": " 8 "})
    assert (settings.firebase_project_id, settings.graphql_max_depth) == ("p", 8)


def test_settings__development_blank_variable__means_unset():
    assert Settings.from_env({"FIREBASE_AUTH_EMULATOR_HOST": " "}).firebase_auth_emulator_host \
        is None


@pytest.mark.parametrize(("name", "value"), [
    ("GRAPHQL_MAX_TOKENS", "10"), ("GRAPHQL_MAX_DEPTH", "1"), ("GRAPHQL_MAX_COST", "x"),
    ("GRAPHQL_TIMEOUT_MS", "0"), ("GRAPHQL_DOCUMENT_CACHE_BYTES", "-1"),
    ("GRAPHQL_MAX_ROOT_FIELDS", "0"), ("GRAPHQL_MAX_ALIASES", "-1"),
])
def test_settings__graphql_limits_out_of_range__refuse_to_start(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, False), (PRODUCTION, True), ({**PRODUCTION, "TRUSTED_DOCUMENTS_ONLY": "0"}, False),
    ({"TRUSTED_DOCUMENTS_ONLY": "1"}, True), ({"TRUSTED_DOCUMENTS_ONLY": "true"}, True),
])
def test_settings__trusted_documents_only__on_in_production_unless_told(environ, expected):
    assert Settings.from_env(environ).trusted_only is expected


def test_settings__trusted_documents_only_not_a_boolean__refuses_to_start():
    with pytest.raises(ConfigError, match="TRUSTED_DOCUMENTS_ONLY"):
        Settings.from_env({"TRUSTED_DOCUMENTS_ONLY": "yes please"})


@pytest.mark.parametrize(("environ", "message"), [
    ({"RATE_LIMIT_SEARCH": "lots"}, "RATE_LIMIT_SEARCH"),
    ({"RATE_LIMIT_BOOKING": "10 per fortnight"}, "RATE_LIMIT_BOOKING"),
    ({"RATE_LIMIT_TRUSTED_PROXIES": "10.0.0.1, proxy.local"}, "RATE_LIMIT_TRUSTED_PROXIES"),
    ({"RATE_LIMIT_STORAGE_URI": "memcached://x"}, "RATE_LIMIT_STORAGE_URI"),
    ({"RATE_LIMITS_ENABLED": "maybe"}, "RATE_LIMITS_ENABLED"),
    ({**PRODUCTION, "RATE_LIMIT_STORAGE_URI": "memory://"}, "redis:// URL in production"),
], ids=["search-words", "booking-unit", "proxy-name", "storage-scheme", "enabled-word",
        "production-memory"])
def test_settings__rate_limits_bad__refuse_to_start(environ, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


@pytest.mark.parametrize(("environ", "message"), [
    ({"GEOCODER": "google"}, "GEOCODER must be one of"),
    ({"GEOCODER": "baidu"}, "BAIDU_MAP_AK"),
    ({"GEOCODER_URL": "ftp://proxy"}, "GEOCODER_URL"),
    ({"GEOCODER_MIN_DELAY_MS": "fast"}, "GEOCODER_MIN_DELAY_MS"),
    ({"GEOCODER_CACHE_DAYS": "-1"}, "GEOCODER_CACHE_DAYS"),
    ({"APP_ENV": "production", "DATABASE_URL": "postgresql+psycopg://db/x",
      "FIREBASE_PROJECT_ID": "p", "GEOCODER_URL": "http://proxy:8080"}, "GEOCODER_URL"),
])
def test_settings__bad_geocoder__refuses_to_start(environ, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, True), ({"APP_ENV": "test"}, False), ({"RATE_LIMITS_ENABLED": "0"}, False),
    ({"APP_ENV": "test", "RATE_LIMITS_ENABLED": "1"}, True),
    ({**PRODUCTION, "RATE_LIMIT_STORAGE_URI": "memory://", "RATE_LIMITS_ENABLED": "0"}, False),
])
def test_settings__rate_limits__on_except_in_tests_unless_told(environ, expected):
    assert Settings.from_env(environ).rate_limiting is expected


def test_settings__geocoder__read_into_the_geopy_config():
    from backend.places.geocoding import GeocoderConfig

    settings = Settings.from_env({"GEOCODER": "baidu", "BAIDU_MAP_AK": "k",
                                  "GEOCODER_URL": "http://127.0.0.1:9000",
                                  "GEOCODER_MIN_DELAY_MS": "250"})
    config = GeocoderConfig.from_settings(settings)
    assert (config.name, config.api_key, config.scheme, config.domain,
            config.min_delay_seconds) == ("baidu", "k", "http", "127.0.0.1:9000", 0.25)
    assert GeocoderConfig.from_settings(Settings.from_env({})).name == "offline"


def test_settings__cors_origins_and_log_salt__parsed_and_stripped():
    settings = Settings.from_env({**PRODUCTION, "LOG_USER_SALT": " s3cret ",
                                  "CORS_ORIGINS": " https://a.example.cn , https://b.example.cn:8443"})
    assert settings.cors_origins == ("https://a.example.cn", "https://b.example.cn:8443")
    assert settings.log_user_salt == "s3cret"
    assert Settings.from_env({}).cors_origins == ()
    assert Settings.from_env({"CORS_ORIGINS": "http://localhost:5173"}).cors_origins == (
        "http://localhost:5173",)
