"""Refusals of /graphql as GraphQL-over-HTTP JSON bodies: a Chinese message and a code,
whoever refuses (graphql-server, Werkzeug's body limit, Flask's routing)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from flask_limiter.errors import RateLimitExceeded
from graphql_server.http.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed, RequestEntityTooLarge

from mobile_api.request_log import note_error_codes

# An HTTP refusal's code, by status, unless the refusal names its own.
HTTP_CODES = {400: "BAD_REQUEST", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}
# graphql-server's own reasons, in the words a client developer reads.
REASONS = {
    "Unsupported content type": "不支持的请求类型：请以 application/json 发送",
    "Unable to parse request body as JSON": "请求体不是有效的 JSON",
    "Variables must be a JSON object": "variables 必须是 JSON 对象",
    "Extensions must be a JSON object": "extensions 必须是 JSON 对象",
    "GraphQL only supports GET and POST requests.": "只支持 GET 和 POST 请求",
    "File(s) missing in form data": "表单中缺少文件",
    "Multipart subscriptions are not supported in sync mode": "不支持订阅",
}
# Deeper JSON is refused before anything reads it: no request needs it, and decoding or
# coercing it recursively would end in RecursionError (a server error).
MAX_JSON_DEPTH = 32
TOO_DEEP = f"JSON 嵌套过深（最多 {MAX_JSON_DEPTH} 层）"
INTERNAL = "服务器内部错误，请稍后重试"
UNAVAILABLE = "服务暂时不可用，请稍后重试"


class CodedHTTPException(HTTPException):
    def __init__(self, status_code: int, reason: str, code: str) -> None:
        super().__init__(status_code, reason)
        self.code = code


class DatabaseUnavailable(CodedHTTPException):
    """The database is away (a restart, a failover) before the operation ran: 503, retry soon."""

    def __init__(self) -> None:
        super().__init__(503, UNAVAILABLE, "SERVICE_UNAVAILABLE")
        self.headers = {"Retry-After": "1"}


class InternalError(CodedHTTPException):
    """A bug before the operation ran: 500 with nothing about the internals (graphql-server
    would answer 400 with the exception's text)."""

    def __init__(self) -> None:
        super().__init__(500, INTERNAL, "INTERNAL_SERVER_ERROR")


def decode_json(data: str | bytes) -> Any:
    """json.loads, refusing nesting deeper than MAX_JSON_DEPTH (HTTP 400)."""
    try:
        value = json.loads(data)
    except RecursionError as exc:
        raise CodedHTTPException(400, TOO_DEEP, "BAD_REQUEST") from exc
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise CodedHTTPException(400, TOO_DEEP, "BAD_REQUEST")
            stack.extend((child, depth + 1)
                         for child in (item.values() if isinstance(item, dict) else item))
    return value


def error_response(status: int, message: str, code: str) -> Response:
    strict = "application/graphql-response+json" in request.headers.get("Accept", "")
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    note_error_codes([code])
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=(
        "application/graphql-response+json" if strict else "application/json"))


def refusal_response(refusal: HTTPException) -> Response:
    code = getattr(refusal, "code", None) or HTTP_CODES.get(refusal.status_code, "BAD_REQUEST")
    message = REASONS.get(refusal.reason, refusal.reason)
    if message == refusal.reason and not any("\u4e00" <= c <= "\u9fff" for c in message):
        message = f"请求无效（{refusal.reason}）"
    response = error_response(refusal.status_code, message, code)
    response.headers.update(getattr(refusal, "headers", {}))
    return response


def init_app(app: Flask, max_request_bytes: int, retry_after: Callable[[], int]) -> None:
    """Werkzeug's 413, Flask's 405 and Flask-Limiter's 429 on /graphql as GraphQL bodies
    (elsewhere as before)."""

    @app.errorhandler(RateLimitExceeded)
    def _throttled(error: RateLimitExceeded) -> Response | RateLimitExceeded:
        if request.path != "/graphql":
            return error
        seconds = retry_after()
        response = error_response(429, f"请求过于频繁，请 {seconds} 秒后重试", "RATE_LIMITED")
        response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error: RequestEntityTooLarge) -> Response | RequestEntityTooLarge:
        if request.path != "/graphql":
            return error
        return error_response(413, f"请求体过大（最多 {max_request_bytes // 1024} KB）",
                              "PAYLOAD_TOO_LARGE")

    @app.errorhandler(MethodNotAllowed)
    def _method(error: MethodNotAllowed) -> Response | MethodNotAllowed:
        if request.path != "/graphql":
            return error
        response = error_response(405, "只支持 GET 和 POST 请求", "METHOD_NOT_ALLOWED")
        response.headers["Allow"] = ", ".join(error.valid_methods or ("GET", "POST"))
        return response
