"""ID tokens: real RS256 tokens checked by the real firebase-admin against a local cert endpoint."""

from __future__ import annotations

import base64
import json
import os

import jwt
import pytest

from backend.accounts import tokens
from backend.accounts.dev_token import emulator_token
from backend.accounts.dev_token import main as dev_token_main
from backend.accounts.principal import Unauthenticated
from backend.accounts.tokens import EMULATOR_ENV, TokenVerifier, bearer_token
from backend.config import ConfigError, Settings
from tests.accounts.tokens_helper import TokenFactory, new_key

EMULATOR_HOST = "127.0.0.1:9099"


@pytest.fixture(autouse=True)
def no_emulator_environment(monkeypatch):
    """No test depends on (or leaves behind) an emulator host in the process environment."""
    monkeypatch.delenv(EMULATOR_ENV, raising=False)


@pytest.fixture
def verifier(token_factory: TokenFactory) -> TokenVerifier:
    return TokenVerifier(Settings(database_url="sqlite://", **token_factory.settings_overrides))


def refusal(verifier: TokenVerifier, token: str, caplog=None, because: str | None = None) -> str:
    """The message of the refusal; with `because`, firebase-admin's logged reason must say so."""
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(token)
    if because is not None:
        assert because in caplog.text
    assert refused.value.code == "UNAUTHENTICATED"
    assert "Traceback" not in refused.value.message
    return refused.value.message


def segments(token: str) -> list[str]:
    return token.split(".")


def encode_segment(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_verify__valid_token__returns_uid(verifier, token_factory):
    # given
    token = token_factory.sign("alice")
    # when / then
    assert verifier.verify(token) == "alice"
    assert verifier.verify(f"  {token}\n") == "alice"


def test_verify__several_verifiers_same_settings__share_one_app(token_factory):
    settings = Settings(database_url="sqlite://", **token_factory.settings_overrides)
    first, second = TokenVerifier(settings), TokenVerifier(settings)
    assert first.app_name == second.app_name
    assert second.verify(token_factory.sign("bob")) == "bob"


def test_verify__expired_token__unauthenticated_says_expired(verifier, token_factory):
    token = token_factory.sign("alice", expires_in=-120)
    assert "过期" in refusal(verifier, token)


def test_verify__other_audience__refused(verifier, token_factory):
    token = token_factory.sign("alice", audience="someone-elses-project")
    assert refusal(verifier, token) == "登录凭证无效"


def test_verify__token_of_another_project__refused(verifier, token_factory):
    token = token_factory.sign("alice", project="another-project")
    assert refusal(verifier, token) == "登录凭证无效"


def test_verify__wrong_issuer__refused(verifier, token_factory):
    token = token_factory.sign("alice", issuer="https://accounts.google.com")
    assert refusal(verifier, token) == "登录凭证无效"


def test_verify__payload_tampered__signature_no_longer_matches(verifier, token_factory, caplog):
    # given: a valid token whose payload is re-encoded with another uid
    header, payload, signature = segments(token_factory.sign("alice"))
    claims = jwt.decode(token_factory.sign("alice"), options={"verify_signature": False})
    forged = ".".join([header, encode_segment({**claims, "sub": "mallory"}), signature])
    # then
    caplog.set_level("INFO", logger="backend.accounts.tokens")
    assert refusal(verifier, forged, caplog, "Could not verify token signature") == "登录凭证无效"


def test_verify__signed_by_another_key_with_the_same_kid__refused(verifier, token_factory,
                                                                  caplog):
    caplog.set_level("INFO", logger="backend.accounts.tokens")
    token = token_factory.sign("mallory", key=new_key())
    assert refusal(verifier, token, caplog, "Could not verify token signature") == "登录凭证无效"


def test_verify__unknown_kid__refused(verifier, token_factory, caplog):
    caplog.set_level("INFO", logger="backend.accounts.tokens")
    token = token_factory.sign("alice", kid="no-such-key")
    assert refusal(verifier, token, caplog, "no-such-key not found") == "登录凭证无效"


def test_verify__unsigned_token_outside_emulator_mode__refused(verifier, token_factory, caplog):
    # given: the shape the emulator issues, for the right project
    caplog.set_level("INFO", logger="backend.accounts.tokens")
    token = emulator_token("mallory", token_factory.project)
    # then
    assert refusal(verifier, token, caplog, 'no "kid" claim') == "登录凭证无效"
    # and with the served kid in its header, refused for its algorithm
    _, payload, _ = segments(token)
    with_kid = f"{encode_segment({'alg': 'none', 'kid': token_factory.kid})}.{payload}."
    assert refusal(verifier, with_kid, caplog, "incorrect algorithm") == "登录凭证无效"


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "....", "é.é.é", "Bearer x"])
def test_verify__garbage__refused(verifier, garbage):
    assert refusal(verifier, garbage) == "登录凭证无效"


def test_verify__empty_token__refused(verifier):
    assert refusal(verifier, "  ") == "登录凭证为空"


def test_verify__no_project_configured__says_so(token_factory):
    verifier = TokenVerifier(Settings(database_url="sqlite://",
                                      firebase_certs_url=token_factory.certs_url))
    message = refusal(verifier, token_factory.sign("alice"))
    assert message == "服务未配置 FIREBASE_PROJECT_ID，无法验证登录凭证"


def test_verify__certificates_unreachable__asks_to_retry_later(token_factory):
    # given: the endpoint answers 404 for this path
    settings = Settings(database_url="sqlite://", firebase_project_id=token_factory.project,
                        firebase_certs_url=token_factory.base_url + "/gone")
    verifier = TokenVerifier(settings)
    # then
    assert refusal(verifier, token_factory.sign("alice")) == "无法获取登录凭证的公钥，请稍后重试"


def test_verify__certificates_url__fetched_from_the_settings(token_factory):
    # given: a factory of its own, so no other test's verifier has fetched (and cached) its certs
    with TokenFactory(kid="own-key") as own:
        verifier = TokenVerifier(Settings(database_url="sqlite://", **own.settings_overrides))
        # when
        uid = verifier.verify(own.sign("carol"))
        served = own.requests_served
    # then
    assert uid == "carol" and served >= 1


def test_verify__emulator_mode__accepts_dev_token(monkeypatch):
    # given: monkeypatch restores the environment, whatever the verifier writes into it
    monkeypatch.setenv(EMULATOR_ENV, EMULATOR_HOST)
    verifier = TokenVerifier(Settings(database_url="sqlite://", firebase_project_id="demo-p",
                                      firebase_auth_emulator_host=EMULATOR_HOST))
    # then
    assert verifier.verify(emulator_token("alice", "demo-p", email="a@example.com")) == "alice"
    assert os.environ[EMULATOR_ENV] == EMULATOR_HOST


def test_verify__emulator_mode__sets_the_environment_firebase_admin_reads(monkeypatch):
    # given: the variable absent (set then deleted through monkeypatch, so that whatever the
    # verifier writes is removed at teardown)
    monkeypatch.setenv(EMULATOR_ENV, "placeholder:1")
    monkeypatch.delenv(EMULATOR_ENV)
    verifier = TokenVerifier(Settings(database_url="sqlite://", firebase_project_id="demo-p",
                                      firebase_auth_emulator_host=EMULATOR_HOST))
    assert os.environ[EMULATOR_ENV] == EMULATOR_HOST
    os.environ.pop(EMULATOR_ENV)  # cleared behind the verifier's back
    # when
    uid = verifier.verify(emulator_token("alice", "demo-p"))
    # then
    assert uid == "alice" and os.environ[EMULATOR_ENV] == EMULATOR_HOST


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (emulator_token("alice", "another-project"), "登录凭证无效"),
        (emulator_token("alice", "demo-p", expires_in=-600), "登录凭证已过期，请重新登录"),
        (emulator_token("", "demo-p"), "登录凭证无效"),
    ],
    ids=["wrong-audience", "expired", "empty-uid"],
)
def test_verify__emulator_mode__still_checks_claims(monkeypatch, token, message):
    monkeypatch.setenv(EMULATOR_ENV, EMULATOR_HOST)
    verifier = TokenVerifier(Settings(database_url="sqlite://", firebase_project_id="demo-p",
                                      firebase_auth_emulator_host=EMULATOR_HOST))
    assert refusal(verifier, token) == message


def test_verify__emulator_in_environment_but_not_in_settings__refuses_every_token(
    monkeypatch, verifier, token_factory
):
    # given: a stray variable would make firebase-admin skip signature checks
    monkeypatch.setenv(EMULATOR_ENV, EMULATOR_HOST)
    # then: even a properly signed token is not verified in that state
    assert "FIREBASE_AUTH_EMULATOR_HOST" in refusal(verifier, token_factory.sign("alice"))
    unsigned = emulator_token("mallory", token_factory.project)
    assert "FIREBASE_AUTH_EMULATOR_HOST" in refusal(verifier, unsigned)


def test_verifier__emulator_host_with_scheme__config_error():
    with pytest.raises(ConfigError, match="FIREBASE_AUTH_EMULATOR_HOST"):
        TokenVerifier(Settings(database_url="sqlite://", firebase_project_id="demo-p",
                               firebase_auth_emulator_host="http://127.0.0.1:9099"))
    assert EMULATOR_ENV not in os.environ


def test_verifier__unreadable_service_account_file__config_error(tmp_path):
    with pytest.raises(ConfigError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        TokenVerifier(Settings(database_url="sqlite://", firebase_project_id="demo-creds",
                               google_application_credentials=str(tmp_path / "missing.json")))


def test_dev_token__command_line__prints_an_emulator_token(capsys, monkeypatch):
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "demo-cli")
    dev_token_main(["--uid", "alice", "--email", "alice@example.com"])
    token = capsys.readouterr().out.strip()
    header, payload, signature = segments(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert jwt.get_unverified_header(token)["alg"] == "none" and signature == ""
    assert (claims["aud"], claims["iss"], claims["sub"]) == (
        "demo-cli", "https://securetoken.google.com/demo-cli", "alice")
    assert claims["exp"] - claims["iat"] == 3600 and claims["email"] == "alice@example.com"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),
        ("BEARER   abc.def.ghi  ", "abc.def.ghi"),
    ],
)
def test_bearer_token__well_formed_or_absent__token_or_none(header, expected):
    assert bearer_token(header) == expected


@pytest.mark.parametrize(
    "header", ["abc.def.ghi", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", "Token x"]
)
def test_bearer_token__malformed__unauthenticated(header):
    with pytest.raises(Unauthenticated, match="Bearer <token>"):
        bearer_token(header)


# -- verified tokens remembered (VERIFIED_CACHE_*) ---------------------------------------------

@pytest.fixture
def verifications(monkeypatch) -> list[str]:
    """The tokens firebase-admin was asked to verify."""
    from firebase_admin import auth

    asked: list[str] = []
    verify = auth.verify_id_token

    def counted(token, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        asked.append(token)
        return verify(token, *args, **kwargs)

    monkeypatch.setattr(auth, "verify_id_token", counted)
    return asked


def test_verify__same_token_again__remembered_not_verified_again(verifier, token_factory,
                                                                 verifications):
    token = token_factory.sign("alice")
    assert [verifier.verify(token), verifier.verify(f" {token} ")] == ["alice", "alice"]
    assert verifications == [token]
    assert verifier.verify(token_factory.sign("bob")) == "bob"
    assert len(verifications) == 2


def test_verify__remembered_token_past_its_exp__verified_again_and_refused_as_expired(
        verifier, token_factory, verifications):
    token = token_factory.sign("alice", expires_in=60)
    assert verifier.verify(token) == "alice"
    claims = jwt.decode(token, options={"verify_signature": False})
    # the verifier's clock past exp + the tolerated skew; firebase-admin's own clock is not
    # moved, so only the remembered entry can expire here: it must not answer
    verifier.clock = lambda: claims["exp"] + tokens.CLOCK_SKEW_SECONDS + 1
    assert verifier.verify(token) == "alice"  # verified again (firebase-admin still accepts)
    assert verifications == [token, token]


def test_verify__remembered_at_most_the_cache_seconds(verifier, token_factory, verifications):
    token = token_factory.sign("alice", expires_in=3600)
    now = verifier.clock()
    verifier.verify(token)
    verifier.clock = lambda: now + tokens.VERIFIED_CACHE_SECONDS - 5
    verifier.verify(token)
    assert len(verifications) == 1
    verifier.clock = lambda: now + tokens.VERIFIED_CACHE_SECONDS + 5
    verifier.verify(token)
    assert len(verifications) == 2


def test_verify__refusals_not_remembered_forged_token_still_refused(verifier, token_factory,
                                                                     verifications):
    token = token_factory.sign("alice")
    assert verifier.verify(token) == "alice"
    header, payload, signature = segments(token)
    forged = ".".join([header, encode_segment({**json.loads(base64.urlsafe_b64decode(
        payload + "=" * (-len(payload) % 4))), "sub": "mallory", "user_id": "mallory"}),
        signature])
    assert refusal(verifier, forged) == "登录凭证无效"
    assert refusal(verifier, forged) == "登录凭证无效"
    assert verifications == [token, forged, forged]


def test_verify__expired_token__never_remembered(verifier, token_factory, verifications):
    token = token_factory.sign("alice", expires_in=-120)
    assert "过期" in refusal(verifier, token)
    assert "过期" in refusal(verifier, token)
    assert verifications == [token, token]


def test_verify__cache_bounded__oldest_forgotten(verifier, token_factory, verifications,
                                                 monkeypatch):
    monkeypatch.setattr(tokens, "VERIFIED_CACHE_SIZE", 2)
    first, second, third = (token_factory.sign(uid) for uid in ("a", "b", "c"))
    for token in (first, second, third, third, second, first):
        verifier.verify(token)
    assert verifications == [first, second, third, first]
