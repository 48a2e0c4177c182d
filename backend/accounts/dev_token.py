"""An unsigned, emulator-style Firebase ID token for development.

    python -m backend.accounts.dev_token --uid alice [--project demo-servicemap] [--email a@b.c]

prints a token that the backend accepts only when FIREBASE_AUTH_EMULATOR_HOST is set (never in
production: the settings refuse it there), e.g.
`curl -H "Authorization: Bearer $(python -m backend.accounts.dev_token --uid alice)" …`.
The token has the shape the Firebase Auth emulator issues: alg "none", no signature.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import time

DEFAULT_PROJECT = "demo-servicemap"
ISSUER_PREFIX = "https://securetoken.google.com/"


def _segment(value: dict) -> str:
    raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def emulator_token(uid: str, project: str = DEFAULT_PROJECT, *, email: str | None = None,
                   expires_in: int = 3600, now: float | None = None) -> str:
    """An unsigned ID token for `uid` in `project`, valid for `expires_in` seconds from `now`."""
    issued = int(time.time() if now is None else now)
    identities: dict[str, list[str]] = {}
    payload: dict = {
        "iss": ISSUER_PREFIX + project,
        "aud": project,
        "auth_time": issued,
        "user_id": uid,
        "sub": uid,
        "iat": issued,
        "exp": issued + expires_in,
    }
    if email:
        payload.update(email=email, email_verified=True)
        identities["email"] = [email]
    payload["firebase"] = {"identities": identities,
                           "sign_in_provider": "password" if email else "custom"}
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(payload)}."


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m backend.accounts.dev_token",
        description="Print an unsigned emulator ID token (accepted only with "
                    "FIREBASE_AUTH_EMULATOR_HOST set, never in production).",
    )
    parser.add_argument("--uid", required=True)
    parser.add_argument("--project", default=os.environ.get("FIREBASE_PROJECT_ID")
                        or DEFAULT_PROJECT,
                        help="Firebase project id (default: $FIREBASE_PROJECT_ID or "
                             f"{DEFAULT_PROJECT})")
    parser.add_argument("--email")
    parser.add_argument("--expires-in", type=int, default=3600, help="seconds (default 3600)")
    args = parser.parse_args(argv)
    if not args.uid.strip() or len(args.uid) > 128:
        parser.error("--uid must be 1–128 characters")
    print(emulator_token(args.uid, args.project, email=args.email, expires_in=args.expires_in))


if __name__ == "__main__":
    main()
