"""Who sends a request: the verified Firebase ID token of its Authorization header, with the
grants our database holds (shared by the GraphQL endpoint and the REST files)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from backend.accounts.grants import principal_for
from backend.accounts.principal import ANONYMOUS, Principal, Unauthenticated
from backend.accounts.tokens import TokenVerifier, bearer_token
from mobile_api.request_log import note


def identify(verifier: TokenVerifier | None, session_factory: sessionmaker[Session],
             authorization: str | None) -> Principal:
    """The caller; a refused token makes an anonymous principal that remembers why."""
    try:
        token = bearer_token(authorization)
        if token is None:
            return ANONYMOUS
        if verifier is None:
            raise Unauthenticated("服务未配置登录验证")
        uid = verifier.verify(token)
        note(uid=uid)  # hashed in the request's log line
    except Unauthenticated as refused:
        return Principal(uid=None, token_problem=refused.message)
    # A session of its own, closed at once: asked for inside a mutation's unit of work, the
    # request's read session would be a second connection held at the same time. The callers
    # pass the read sessions' factory: a read that lost its connection runs again.
    with session_factory() as session:
        return principal_for(session, uid)
