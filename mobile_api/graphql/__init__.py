"""The /graphql endpoint: view, request context, execution."""

from __future__ import annotations

from flask import Flask, g

from backend.schema.schema import schema
from mobile_api.graphql import http_errors
from mobile_api.graphql.context import RequestContext
from mobile_api.graphql.rate_limits import RateLimits, retry_after_of
from mobile_api.graphql.trusted import TrustedDocuments
from mobile_api.graphql.trusted import load as trusted_documents
from mobile_api.graphql.view import ServiceMapGraphQLView

# A GraphQL document from an app is a few kilobytes; refuse bodies that are not (HTTP 413).
MAX_REQUEST_BYTES = 256 * 1024


def request_context(services, authorization: str | None = None) -> RequestContext:  # noqa: ANN001
    return RequestContext(services.session_factory, services.store, rules=services.rules,
                          verifier=services.verifier, authorization=authorization,
                          read_session_factory=services.read_session_factory,
                          handlers=services.handlers, geocoder=services.geocoder,
                          scope_checks=services.scope_checks)


def init_app(app: Flask, services) -> None:  # noqa: ANN001
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    rate_limits = RateLimits(app, services.settings)
    view = ServiceMapGraphQLView(
        schema=schema.graphql_schema,
        context_factory=lambda authorization: request_context(services, authorization),
        graphiql=services.settings.graphiql_enabled,
        settings=services.settings,
        trusted=TrustedDocuments(trusted_documents(), required=services.settings.trusted_only),
        rate_limits=rate_limits,
    )
    http_errors.init_app(app, MAX_REQUEST_BYTES, lambda: retry_after_of(rate_limits.limiter))
    app.extensions["graphql_view"] = view  # one instance serves every request (its caches)
    app.add_url_rule("/graphql", endpoint="graphql",
                     view_func=rate_limits.decorate(view.dispatch_request), methods=view.methods)

    @app.teardown_request
    def _close_graphql_context(_exc: BaseException | None) -> None:
        context = g.pop("graphql_context", None)
        if context is not None:
            context.close()
