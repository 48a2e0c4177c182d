"""The /graphql endpoint: graphql-server's Flask view with our context and error codes."""

from __future__ import annotations

import logging
import re
import time

import orjson
from flask import Response, g, request
from graphql_server.exceptions import GraphQLValidationError
from graphql_server.flask.views import FlaskHTTPRequestAdapter, GraphQLView
from graphql_server.http.exceptions import HTTPException
from graphql_server.runtime import _get_operation_type

from backend.core.errors import DomainError
from backend.db import database_unavailable
from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
)
from mobile_api.graphql import limits
from mobile_api.graphql.context import RequestContext
from mobile_api.graphql.documents import DocumentCache, prepare
from mobile_api.graphql.execution import DeadlinePassed, LeanExecutionContext
from mobile_api.graphql.http_errors import (
    INTERNAL,
    UNAVAILABLE,
    CodedHTTPException,
    DatabaseUnavailable,
    InternalError,
    decode_json,
    refusal_response,
)
from mobile_api.graphql.plans import PlanAbandoned, run_plan
from mobile_api.graphql.trusted import TrustedDocumentError, TrustedDocuments
from mobile_api.request_log import note, note_error_codes

# graphql-core's "Did you mean …?" hints name fields and types: not for production clients.
SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")

log = logging.getLogger(__name__)

# A multipart request carries a file (importPlaces): it may be larger than a JSON request.
MAX_UPLOAD_REQUEST_BYTES = 21 * 1024 * 1024

class _RequestAdapter(FlaskHTTPRequestAdapter):
    @property
    def body(self) -> str:
        try:
            return self.request.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HTTPException(400, "请求体不是 UTF-8 编码的 JSON") from exc


# graphql-core's reasons for refusing a variable value, in the words a client developer reads.
_VARIABLE_REASONS = [
    ("Float cannot represent non numeric value", "必须是有限数值"),
    ("Float cannot represent", "必须是数值"),
    ("Int cannot represent non 32-bit signed integer", "必须是 32 位整数"),
    ("Int cannot represent", "必须是整数"),
    ("String cannot represent", "必须是字符串"),
    ("Boolean cannot represent", "必须是布尔值"),
    ("ID cannot represent", "必须是字符串或整数"),
    ("does not exist in", "不是允许的枚举值"),
    ("of required type", "缺少必填字段"),
    ("is not defined by type", "包含未定义的字段"),
    ("Expected type", "类型不符"),
]
_VARIABLE_ERROR = re.compile(
    r"Variable '(?P<name>\$\w+)' (?:got invalid value .*?(?: at '(?P<at>[^']+)')?; (?P<reason>.*)"
    r"|of required type '(?P<type>[^']+)' was not provided\.)$",
    re.DOTALL,
)


def _variable_message(message: str) -> str:
    """A Chinese message for a variable value that does not fit its type."""
    match = _VARIABLE_ERROR.match(message)
    if match is None:
        return f"请求变量无效：{message}"
    if match["type"]:
        return f"缺少必填变量 {match['name']}（类型 {match['type']}）"
    reason = next((chinese for english, chinese in _VARIABLE_REASONS
                   if english in match["reason"]), "取值无效")
    where = match["at"] or match["name"].lstrip("$")
    return f"变量 {match['name']} 的取值无效：{where} {reason}（{match['reason']}）"


def _operation_name(document, requested: object) -> str | None:  # noqa: ANN001
    """The name of the operation that runs, as the document defines it (never free text of the
    request that names no operation of it)."""
    if document is None:
        return None
    names = [definition.name.value if definition.name else None
             for definition in document.definitions
             if isinstance(definition, OperationDefinitionNode)]
    if isinstance(requested, str):
        return requested if requested in names else None
    return names[0] if len(names) == 1 else None


class ServiceMapGraphQLView(GraphQLView):
    request_adapter_class = _RequestAdapter
    # One instance serves every request (it keeps no per-request state), so its caches last.
    init_every_request = False

    def __init__(self, *, schema: GraphQLSchema, context_factory, graphiql: bool,
                 settings, trusted: TrustedDocuments, rate_limits) -> None:  # noqa: ANN001
        # The GraphQL multipart request spec (operations + map + files): the editor console's
        # importPlaces(file: Upload!). Files arrive as werkzeug FileStorage in the variables.
        super().__init__(schema=schema, graphql_ide="graphiql" if graphiql else None,
                         multipart_uploads_enabled=True)
        self.context_factory = context_factory
        self.trusted = trusted
        self.rate_limits = rate_limits
        self.production = settings.is_production
        # Introspection follows the trusted documents: none of them introspects.
        self.introspection = not settings.trusted_only
        self.limits = limits.Limits(
            max_tokens=settings.graphql_max_tokens, max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_root_fields=settings.graphql_max_root_fields,
            max_cost=settings.graphql_max_cost)
        self.timeout_seconds = settings.graphql_timeout_ms / 1000
        self.documents = DocumentCache(settings.graphql_document_cache_bytes)
        # Trusted queries run by their plans (plans.py); off, graphql-core runs everything.
        self.plans_enabled = settings.graphql_plans

    def get_context(self, request, response) -> RequestContext:
        context = self.context_factory(request.headers.get("Authorization"))
        g.graphql_context = context  # closed in the app's teardown
        return context

    def decode_json(self, data):
        return decode_json(data)

    def encode_json(self, data) -> bytes:
        return orjson.dumps(data)

    def dispatch_request(self):
        """Every refusal of /graphql is a GraphQL JSON body with a code (graphql-server's
        own answers plain text)."""
        if request.mimetype == "multipart/form-data":
            request.max_content_length = MAX_UPLOAD_REQUEST_BYTES
        try:
            return self.run(request=request)
        except HTTPException as refusal:
            if refusal.status_code == 200:  # graphql-server's answer to a CORS preflight
                return Response(status=200)
            return refusal_response(refusal)

    def get_graphql_request_data(self, request, context, data, protocol):
        if not isinstance(data, dict):
            raise HTTPException(400, "请求体必须是 JSON 对象")
        request_data = super().get_graphql_request_data(request, context, data, protocol)
        try:
            request_data.query = self.trusted.resolve(data.get("query"), data.get("documentId"),
                                                      data.get("extensions"))
        except TrustedDocumentError as refusal:
            raise CodedHTTPException(400, refusal.message, "TRUSTED_DOCUMENT_REQUIRED"
                                     ) from refusal
        return request_data

    def execute_operation(self, request_adapter, request_data, context, root_value,
                          allowed_operation_types):
        """graphql-server answers any other exception raised here as HTTP 400 with its text:
        an outage or a bug before execution (the token's account, the rate limits) is ours to
        answer, without the internals."""
        try:
            return self._execute_operation(request_data, context, root_value,
                                           allowed_operation_types)
        except (HTTPException, GraphQLValidationError, GraphQLError):
            raise
        except Exception as error:
            if database_unavailable(error):
                log.warning("database unavailable before execution: %s", type(error).__name__)
                raise DatabaseUnavailable from error
            log.error("unexpected error before execution", exc_info=error)
            raise InternalError from error

    def _execute_operation(self, request_data, context, root_value, allowed_operation_types):
        query = request_data.query
        if not isinstance(query, str) or not query.strip():
            raise HTTPException(400, "请求中没有 GraphQL 查询（query）")
        document_id = self.trusted.id_of(query)
        prepared = self.documents.get(
            query, lambda: prepare(self.schema, query, self.limits.max_tokens,
                                   introspection=self.introspection,
                                   trusted=document_id is not None))
        document = prepared.document
        note(operation=_operation_name(document, request_data.operation_name),
             document_id=document_id)
        if prepared.errors:
            raise GraphQLValidationError(prepared.errors)
        refusals = limits.check_remembered(prepared.limit_checks, self.schema, document,
                                           request_data.operation_name, request_data.variables,
                                           self.limits)
        if refusals:
            raise GraphQLValidationError(refusals)
        operation_type = _get_operation_type(document, request_data.operation_name)
        if operation_type not in allowed_operation_types:
            raise CodedHTTPException(405, "GET 请求只能执行查询；变更（mutation）请用 POST",
                                     "METHOD_NOT_ALLOWED")
        self.rate_limits.before_identifying()
        self.rate_limits.after_identifying(
            context, limits.root_field_names(document, request_data.operation_name))
        if operation_type == OperationType.QUERY:
            context.deadline = time.monotonic() + self.timeout_seconds
        plan = prepared.plans.get(request_data.operation_name)
        try:
            if plan is not None and self.plans_enabled:
                try:
                    data = run_plan(self.schema, plan, context, request_data.variables)
                except PlanAbandoned:
                    pass  # not the ordinary case: graphql-core answers it as always
                else:
                    note(executor="plan")
                    return ExecutionResult(data, None)
            note(executor="graphql-core")
            result = execute(
                self.schema,
                document,
                root_value=root_value,
                context_value=context,
                variable_values=request_data.variables,
                operation_name=request_data.operation_name,
                execution_context_class=LeanExecutionContext,
            )
        except DeadlinePassed:
            log.warning("query %s stopped at its deadline", request_data.operation_name)
            return ExecutionResult(None, [GraphQLError(
                f"查询超时（超过 {self.timeout_seconds:g} 秒），请缩小查询范围后重试",
                extensions={"code": "QUERY_TIMEOUT"})])
        if result.errors and result.data is None and all(e.path is None for e in result.errors):
            # Errors before execution are variable values that do not fit their types.
            result.errors = [
                GraphQLError(_variable_message(error.message), nodes=error.nodes,
                             extensions={"code": "BAD_USER_INPUT"})
                for error in result.errors
            ]
        return result

    def process_result(self, request, result: ExecutionResult, strict: bool = False):
        if result.errors:
            result.errors = [self._mask(error) for error in result.errors]
            note_error_codes([(error.extensions or {}).get("code") or "ERROR"
                              for error in result.errors])
            if self.production:
                for error in result.errors:
                    error.message = SUGGESTION.sub("", error.message)
        return super().process_result(request, result, strict)

    @staticmethod
    def _mask(error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            return error
        if isinstance(original, DomainError):
            # An expected refusal (UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT …): its code and
            # Chinese message are for the client.
            extensions = {"code": original.code}
            if original.field:
                extensions["field"] = original.field
            return GraphQLError(original.message, nodes=error.nodes, path=error.path,
                                extensions=extensions)
        if database_unavailable(original):
            # An outage (a restart, a failover), not a bug: the client may retry.
            log.warning("database unavailable in %s: %s", error.path, type(original).__name__)
            return GraphQLError(UNAVAILABLE, nodes=error.nodes, path=error.path,
                                extensions={"code": "SERVICE_UNAVAILABLE"})
        # A bug, not a user error: log it, and tell the client nothing about the internals.
        log.error("unexpected error in %s", error.path, exc_info=original)
        return GraphQLError(
            INTERNAL,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR"},
        )
