"""Rate limits of /graphql (Flask-Limiter, counters in Redis in production so every worker and
host shares them; in memory in development; off with RATE_LIMITS_ENABLED=0).

Budgets, each its own counter:
- every request, per client address (RATE_LIMIT_DEFAULT), before anything is read;
- per client — the user when signed in, else the address — by the operation's root fields:
  searches (places, serviceItems, mapClusters: RATE_LIMIT_SEARCH), booking mutations
  (RATE_LIMIT_BOOKING, and RATE_LIMIT_BOOKING_PER_IP per address, so many fresh identities
  from one client cannot take a window's horizon), device registration (RATE_LIMIT_DEVICES),
  residents' reports of wrong place information (RATE_LIMIT_REPORTS);
- refused tokens per address (RATE_LIMIT_AUTH_FAILURES): once spent, a request that carries a
  token is refused before the token is verified.
A refused request is HTTP 429 with Retry-After and a GraphQL body, code RATE_LIMITED.
X-Forwarded-For is read only from RATE_LIMIT_TRUSTED_PROXIES."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from ipaddress import ip_address, ip_network

from flask import Flask, request
from flask_limiter import Limiter
from limits import RateLimitItem, parse_many

from mobile_api.graphql.http_errors import CodedHTTPException

SEARCH_FIELDS = frozenset({"places", "serviceItems", "mapClusters"})
BOOKING_FIELDS = frozenset({"bookAppointment", "cancelAppointment", "rescheduleAppointment"})
DEVICE_FIELDS = frozenset({"registerDevice", "unregisterDevice"})
REPORT_FIELDS = frozenset({"reportPlaceIssue"})


class RateLimited(CodedHTTPException):
    def __init__(self, retry_after: int) -> None:
        super().__init__(429, f"请求过于频繁，请 {retry_after} 秒后重试", "RATE_LIMITED")
        self.headers = {"Retry-After": str(retry_after)}


class RateLimits:
    def __init__(self, app: Flask, settings) -> None:  # noqa: ANN001
        self.enabled = settings.rate_limiting
        self.prefix = settings.rate_limit_key_prefix
        self.proxies = [ip_network(proxy.strip(), strict=False)
                        for proxy in settings.rate_limit_trusted_proxies.split(",")
                        if proxy.strip()]
        self.limiter = Limiter(self.client_address, app=app, enabled=self.enabled,
                               storage_uri=settings.rate_limit_storage_uri,
                               key_prefix=self.prefix, strategy="fixed-window")
        self.default = settings.rate_limit_default
        self.budgets: dict[str, list[RateLimitItem]] = {
            name: parse_many(getattr(settings, f"rate_limit_{name}"))
            for name in ("search", "booking", "booking_per_ip", "devices", "reports",
                         "auth_failures")}

    def decorate(self, view: Callable) -> Callable:
        """The per-address budget of every request (Flask-Limiter's own check)."""
        return self.limiter.limit(self.default, key_func=self.client_address)(view)

    def client_address(self) -> str:
        """The client's address: the connection's, or — when that is a trusted proxy — the
        nearest address of X-Forwarded-For that is not one."""
        remote = request.remote_addr or "unknown"
        if not self._trusted(remote):
            return remote
        forwarded = [part.strip() for part in
                     request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        for address in reversed(forwarded):
            try:
                ip_address(address)
            except ValueError:
                return remote  # a garbled header is not believed
            if not self._trusted(address):
                return address
        return forwarded[0] if forwarded else remote

    def _trusted(self, address: str) -> bool:
        try:
            parsed = ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self.proxies)

    # --- budgets by operation ------------------------------------------------------------

    def before_identifying(self) -> None:
        """Refuse a request carrying a token when its address spent its refused tokens."""
        if self.enabled and request.headers.get("Authorization"):
            self._check("auth_failures", f"ip:{self.client_address()}", spend=False)

    def after_identifying(self, context, root_fields: set[str]) -> None:  # noqa: ANN001
        """Count a refused token; spend the operation's budgets (429 when one is out)."""
        if not self.enabled:
            return
        principal = context.principal  # verifies the token, once per request
        address = f"ip:{self.client_address()}"
        if principal.token_problem is not None:
            self._check("auth_failures", address)
        client = f"user:{principal.uid}" if principal.uid is not None else address
        if root_fields & SEARCH_FIELDS:
            self._check("search", client)
        if root_fields & BOOKING_FIELDS:
            self._check("booking", client)
            self._check("booking_per_ip", address)
        if root_fields & DEVICE_FIELDS:
            self._check("devices", client)
        if root_fields & REPORT_FIELDS:
            self._check("reports", client)

    def _check(self, budget: str, client: str, spend: bool = True) -> None:
        strategy = self.limiter.limiter
        for item in self.budgets[budget]:
            key = (self.prefix, budget, client)
            allowed = strategy.hit(item, *key) if spend else strategy.test(item, *key)
            if not allowed:
                reset = strategy.get_window_stats(item, *key).reset_time
                raise RateLimited(max(1, math.ceil(reset - time.time())))


def retry_after_of(limiter: Limiter) -> int:
    """Seconds until the breached Flask-Limiter limit of this request resets."""
    current = limiter.current_limit
    if current is None:
        return 1
    return max(1, math.ceil(current.reset_at - time.time()))
