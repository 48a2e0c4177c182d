"""Security headers on every answer, and CORS for the origins of CORS_ORIGINS (flask-cors).

    every answer          X-Content-Type-Options, Referrer-Policy, a Content-Security-Policy
                          (the app's for its files and service worker, GraphiQL's for
                          GraphiQL, none-at-all for data), Strict-Transport-Security in
                          production
    /graphql, /m/v1/…     Cache-Control: no-store when the request carries Authorization
                          (a signed-in answer must not stay in a shared or browser cache)
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request
from flask_cors import CORS

from backend.config import Settings

HSTS = "max-age=31536000"
REFERRER_POLICY = "strict-origin-when-cross-origin"
# Answers that are data, never a page: nothing may load from them or frame them.
DATA_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Firebase Auth (phone sign-in with an invisible reCAPTCHA) and web push talk to Google.
GOOGLE_APIS = "https://*.googleapis.com"
RECAPTCHA = "https://www.google.com/recaptcha/ https://www.gstatic.com/recaptcha/"
RECAPTCHA_FRAMES = "https://www.google.com/recaptcha/ https://recaptcha.google.com/recaptcha/"
SIGNED_IN_PREFIXES = ("/graphql", "/m/v1/")
CORS_RESOURCES = (r"/graphql", r"/m/v1/*")


def _origin(url: str | None) -> str | None:
    if not url or not url.startswith(("https://", "http://")):
        return None  # a path on our own origin ('self') or nothing
    parts = urlsplit(url)
    # Leaflet's {s} subdomains: any subdomain of the tile host.
    return f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}" if parts.netloc else None


def app_csp(settings: Settings) -> str:
    """The resident app's policy. Its build has no inline script (the test of the built
    index.html says so); styles stay 'unsafe-inline': Leaflet, Vant and reCAPTCHA set style
    attributes."""
    tiles = _origin(settings.map_tile_url)
    auth_domain = settings.firebase_auth_domain or (
        f"{settings.firebase_project_id}.firebaseapp.com" if settings.firebase_project_id
        else None)
    frames = " ".join(filter(None, [RECAPTCHA_FRAMES, auth_domain and f"https://{auth_domain}"]))
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' {RECAPTCHA}",
        "style-src 'self' 'unsafe-inline'",
        " ".join(filter(None, ["img-src 'self' data: blob: https://www.gstatic.com", tiles])),
        f"connect-src 'self' {GOOGLE_APIS} https://www.google.com",
        f"frame-src {frames}",
        "worker-src 'self'",
        "manifest-src 'self'",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


# GraphiQL (development only, from our build): its page and its editor add inline styles.
GRAPHIQL_CSP = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:", "font-src 'self' data:", "connect-src 'self'",
    "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
])


def init_app(app: Flask, settings: Settings) -> None:
    page_csp = app_csp(settings)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", REFERRER_POLICY)
        if request.path == "/graphql" and response.mimetype == "text/html":
            csp = GRAPHIQL_CSP
        elif request.blueprint == "web":
            # The app's files, the service worker included: a worker runs under the policy
            # of its own script, and ours fetches from our origin.
            csp = page_csp
        else:
            csp = DATA_CSP
        headers.setdefault("Content-Security-Policy", csp)
        if settings.is_production:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if request.headers.get("Authorization") and request.path.startswith(SIGNED_IN_PREFIXES):
            if "no-store" not in (headers.get("Cache-Control") or ""):
                headers["Cache-Control"] = "no-store"
            response.vary.add("Authorization")
        return response

    if settings.cors_origins:
        CORS(app, resources={path: {} for path in CORS_RESOURCES},
             origins=list(settings.cors_origins), methods=["GET", "POST", "OPTIONS"],
             allow_headers=["Authorization", "Content-Type", "Accept", "X-Request-ID"],
             expose_headers=["X-Request-ID", "Retry-After"], supports_credentials=False,
             max_age=600, vary_header=True, always_send=False)
