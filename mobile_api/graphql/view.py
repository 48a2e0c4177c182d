"""The /graphql endpoint: graphql-server's Flask view with our context and error codes."""

from __future__ import annotations

import functools
import json
import logging
import re

from flask import g, request
from graphql_server.exceptions import GraphQLValidationError, InvalidOperationTypeError
from graphql_server.flask.views import FlaskHTTPRequestAdapter, GraphQLView
from graphql_server.http.exceptions import HTTPException
from graphql_server.runtime import _get_operation_type

from backend.core.errors import DomainError
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    execute,
    parse,
    validate,
)
from mobile_api.graphql.context import RequestContext
from mobile_api.graphql.execution import LeanExecutionContext

log = logging.getLogger(__name__)

DOCUMENT_CACHE_SIZE = 512
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


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    """The error with this code, unless it brings its own (a scalar refusing a literal value
    says BAD_USER_INPUT: the document is fine, the value is not)."""
    error.extensions = {"code": code, **(error.extensions or {})}
    return error


class ServiceMapGraphQLView(GraphQLView):
    request_adapter_class = _RequestAdapter
    # One instance serves every request (it keeps no per-request state), so its caches last.
    init_every_request = False

    def __init__(self, *, schema: GraphQLSchema, context_factory, graphiql: bool) -> None:
        # The GraphQL multipart request spec (operations + map + files): the editor console's
        # importPlaces(file: Upload!). Files arrive as werkzeug FileStorage in the variables.
        super().__init__(schema=schema, graphql_ide="graphiql" if graphiql else None,
                         multipart_uploads_enabled=True)
        self.context_factory = context_factory
        # Parsing and validating a document costs more than the query itself; both depend
        # only on the text and the schema, so they are done once per distinct document.
        self._prepare = functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(self._parse_and_validate)

    def dispatch_request(self):
        if request.mimetype == "multipart/form-data":
            request.max_content_length = MAX_UPLOAD_REQUEST_BYTES
        return super().dispatch_request()

    def get_context(self, request, response) -> RequestContext:
        context = self.context_factory(request.headers.get("Authorization"))
        g.graphql_context = context  # closed in the app's teardown
        return context

    def decode_json(self, data):
        return json.loads(data)

    def encode_json(self, data) -> str:
        return json.dumps(data, ensure_ascii=False)

    def get_graphql_request_data(self, request, context, data, protocol):
        if not isinstance(data, dict):
            raise HTTPException(400, "请求体必须是 JSON 对象")
        return super().get_graphql_request_data(request, context, data, protocol)

    def _parse_and_validate(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        try:
            document = parse(query)
        except GraphQLError as error:
            return None, [_with_code(error, "GRAPHQL_PARSE_FAILED")]
        errors = validate(self.schema, document)
        return document, [_with_code(error, "GRAPHQL_VALIDATION_FAILED") for error in errors]

    def execute_operation(self, request_adapter, request_data, context, root_value,
                          allowed_operation_types):
        query = request_data.query
        if not isinstance(query, str) or not query.strip():
            raise HTTPException(400, "请求中没有 GraphQL 查询（query）")
        document, errors = self._prepare(query)
        if errors:
            raise GraphQLValidationError(errors)
        operation_type = _get_operation_type(document, request_data.operation_name)
        if operation_type not in allowed_operation_types:
            raise InvalidOperationTypeError(operation_type, allowed_operation_types)
        result = execute(
            self.schema,
            document,
            root_value=root_value,
            context_value=context,
            variable_values=request_data.variables,
            operation_name=request_data.operation_name,
            execution_context_class=LeanExecutionContext,
        )
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
        # A bug, not a user error: log it, and tell the client nothing about the internals.
        log.error("unexpected error in %s", error.path, exc_info=original)
        return GraphQLError(
            "服务器内部错误，请稍后重试",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR"},
        )
