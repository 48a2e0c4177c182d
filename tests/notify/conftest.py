"""The notify tests use the booking tests' world (halls, windows, users with real tokens), the
fake FCM server (tests/notify/fake_fcm.py) and a provider built for it from settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.config import Settings
from tests.accounts.tokens_helper import token_factory  # noqa: F401
from tests.booking.conftest import _booking_app, world  # noqa: F401
from tests.notify import fake_fcm as fake_fcm_module
from tests.notify.fake_fcm import FakeFcm

fake_fcm_server = fake_fcm_module.fake_fcm_server
fake_fcm = fake_fcm_module.fake_fcm


@pytest.fixture(scope="session")
def fcm_credentials(fake_fcm_server: FakeFcm, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fake_fcm_server.service_account_file(tmp_path_factory.mktemp("service-account"))


@pytest.fixture(scope="session")
def fcm_settings(fake_fcm_server: FakeFcm, fcm_credentials: Path) -> dict:
    """Settings fields of PUSH_PROVIDER=fcm against the fake (FCM_ENDPOINT, credentials)."""
    return {"push_provider": "fcm", "firebase_project_id": fake_fcm_server.project_id,
            "google_application_credentials": str(fcm_credentials),
            "fcm_endpoint": fake_fcm_server.base_url, "notify_http_timeout_seconds": 2}


@pytest.fixture(scope="session")
def fcm_provider(fcm_settings: dict):  # noqa: ANN201
    from backend.notify.providers.fcm import FcmProvider

    return FcmProvider.from_settings(Settings(database_url="sqlite://", **fcm_settings))
