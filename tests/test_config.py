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
    ],
    ids=["unknown-env", "port-not-int", "port-range", "push-provider", "db-scheme",
         "production-with-auth-emulator", "production-without-database-url",
         "production-without-project", "production-with-certs-url", "horizon-not-int",
         "max-active-zero", "generation-beyond-staff-horizon", "batch-over-fcm-limit",
         "no-attempts", "lease-shorter-than-3-timeouts", "backoff-base-over-cap",
         "quiet-hours-words", "quiet-hours-24", "fcm-endpoint-not-url",
         "production-fcm-endpoint-plain-http"],
)
def test_settings__bad_environment__refuses_to_start(environ, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


def test_settings__production__no_graphiql():
    settings = Settings.from_env(
        {"APP_ENV": "production", "DATABASE_URL": "postgresql+psycopg://db/servicemap",
         "FIREBASE_PROJECT_ID": "servicemap-prod"}
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


def test_settings__geocoder__read_into_the_geopy_config():
    from backend.places.geocoding import GeocoderConfig

    settings = Settings.from_env({"GEOCODER": "baidu", "BAIDU_MAP_AK": "k",
                                  "GEOCODER_URL": "http://127.0.0.1:9000",
                                  "GEOCODER_MIN_DELAY_MS": "250"})
    config = GeocoderConfig.from_settings(settings)
    assert (config.name, config.api_key, config.scheme, config.domain,
            config.min_delay_seconds) == ("baidu", "k", "http", "127.0.0.1:9000", 0.25)
    assert GeocoderConfig.from_settings(Settings.from_env({})).name == "offline"
