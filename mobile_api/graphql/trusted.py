"""Trusted documents (GraphQL-over-HTTP persisted documents): the documents of
graphql/operations/, each known by `sha256:<hex of its text>`.

A request names one by `documentId` (or Apollo's `extensions.persistedQuery.sha256Hash`)
instead of sending its text. In production only these run; a request that sends the full
text of a trusted document (the resident app does) is accepted, since the text hashes to its
id. `make manifest` writes graphql/operations/manifest.json (a test checks it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mobile_api.graphql.documents import document_id

OPERATIONS_DIR = Path(__file__).resolve().parents[2] / "graphql" / "operations"
MANIFEST = OPERATIONS_DIR / "manifest.json"
DOCUMENT_ID = re.compile(r"sha256:[0-9a-f]{64}")


def load(directory: Path = OPERATIONS_DIR) -> dict[str, str]:
    """Document id → text, for every document of the folder."""
    texts = [path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.graphql"))]
    return {document_id(text): text for text in texts}


def manifest(directory: Path = OPERATIONS_DIR) -> str:
    """The manifest of trusted documents: for each file its operation's name and id."""
    entries = {path.stem: document_id(path.read_text(encoding="utf-8"))
               for path in sorted(directory.glob("*.graphql"))}
    return json.dumps({"format": "sha256", "documents": entries}, indent=2,
                      ensure_ascii=False) + "\n"


class TrustedDocumentError(Exception):
    """A request that names an unknown document, or sends one that is not trusted."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TrustedDocuments:
    def __init__(self, documents: dict[str, str], *, required: bool) -> None:
        self.documents = documents
        self.required = required  # production: nothing else runs

    def id_of(self, query: str) -> str | None:
        """The id of a trusted document's text; None for any other text."""
        identifier = document_id(query)
        return identifier if identifier in self.documents else None

    def resolve(self, query: object, document_id_: object, extensions: object) -> object:
        """The text to run for a request's `query`, `documentId` and `extensions`."""
        if document_id_ is None and isinstance(extensions, dict):
            persisted = extensions.get("persistedQuery")
            if isinstance(persisted, dict) and persisted.get("sha256Hash") is not None:
                document_id_ = f"sha256:{persisted['sha256Hash']}"
        if document_id_ is not None:
            if not isinstance(document_id_, str) or not DOCUMENT_ID.fullmatch(document_id_):
                raise TrustedDocumentError("documentId 格式应为 sha256:<64 位十六进制>")
            text = self.documents.get(document_id_)
            if text is None:
                raise TrustedDocumentError(f"未知的受信文档 {document_id_}")
            if isinstance(query, str) and query.strip() and query != text:
                raise TrustedDocumentError("query 与 documentId 不一致")
            return text
        if self.required and isinstance(query, str) and document_id(query) not in self.documents:
            raise TrustedDocumentError("生产环境只执行受信文档：请发送 documentId")
        return query

