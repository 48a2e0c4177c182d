"""Editors write a service item and its guide: the whole item validated as the catalog is
(backend.guidance.catalog), upserted by code, with a revision of what changed — in one
transaction. The places handling it are re-indexed (their search text names its aliases)."""

from __future__ import annotations

import json

from sqlalchemy import select

from backend.accounts.principal import Principal
from backend.core.clock import utcnow
from backend.core.errors import InvalidInput, PayloadError
from backend.core.unit_of_work import UnitOfWork
from backend.guidance.catalog import DEMO_CATALOG, parse_catalog, upsert_service_items
from backend.guidance.handling import refresh_place_search_text
from backend.guidance.models import PlaceServiceItem, ServiceItem, ServiceItemRevision
from backend.places.permissions import require_some_editor

MAX_DOCUMENT = 200_000

MESSAGES = {
    "INVALID_GUIDE": "事项或办事指南的内容无效",
}


class GuidanceError(PayloadError):
    messages = MESSAGES


def known_certificates(session) -> list[dict]:  # noqa: ANN001
    """The e-certificates a guide may name: the catalog's, and any a stored guide names."""
    known = {entry["code"]: entry for entry in json.loads(
        DEMO_CATALOG.read_text(encoding="utf-8"))["e_certificates"]}
    for (guide,) in session.execute(select(ServiceItem.guide)):
        for material in guide.get("materials", []):
            certificate = material.get("e_certificate")
            if certificate:
                known.setdefault(certificate["code"], certificate)
    return list(known.values())


def item_document(item: ServiceItem) -> dict:
    """The item in the catalog's format (backend/guidance/data/service_items.json): what
    `upsert_service_item` takes back, so an editor changes what they were shown."""
    guide = item.guide
    return {
        "code": item.code, "name": item.name, "aliases": list(item.aliases),
        "category": item.category,
        **{part: guide[part] for part in ("department", "summary", "eligibility",
                                          "handling_modes", "place_kinds", "questions")},
        "materials": [{**{key: material[key] for key in ("id", "name", "form", "count", "note")},
                       "e_certificate": (material["e_certificate"] or {}).get("code"),
                       **({"when": material["when"]} if material.get("when") else {})}
                      for material in guide["materials"]],
        "steps": [{"title": step["title"], "description": step["description"]}
                  for step in guide["steps"]],
        **{part: guide[part] for part in ("fee", "time_limit", "legal_basis", "online_url")},
    }


def _changes(before: ServiceItem | None, values: dict) -> list[dict]:
    if before is None:
        return [{"field": field, "old": None, "new": values[field]}
                for field in ("code", "name", "category", "aliases", "guide")]
    changes = []
    for field in ("name", "category", "aliases"):
        if getattr(before, field) != values[field]:
            changes.append({"field": field, "old": getattr(before, field),
                            "new": values[field]})
    for part in sorted(set(before.guide) | set(values["guide"])):
        old, new = before.guide.get(part), values["guide"].get(part)
        if old != new:
            changes.append({"field": f"guide.{part}", "old": old, "new": new})
    return changes


def upsert_service_item(uow: UnitOfWork, principal: Principal, document: str, *,
                        source: str = "console") -> ServiceItem:
    """Create the item of `document` (JSON, one item of the catalog format) or replace the one
    with its code. Refused whole (INVALID_GUIDE, naming the field) when any part is invalid."""
    uid = require_some_editor(principal)
    if not isinstance(document, str) or len(document) > MAX_DOCUMENT:
        raise GuidanceError("INVALID_GUIDE", f"事项须为不超过 {MAX_DOCUMENT} 个字符的 JSON", "item")
    try:
        data = json.loads(document)
    except json.JSONDecodeError as exc:
        raise GuidanceError("INVALID_GUIDE", f"不是有效的 JSON：第 {exc.lineno} 行第 "
                            f"{exc.colno} 列附近有误", "item") from exc
    with uow:
        session = uow.session
        try:
            (record,) = parse_catalog({"notice": "", "e_certificates": known_certificates(session),
                                       "items": [data]})
        except InvalidInput as error:
            raise GuidanceError("INVALID_GUIDE", error.message, "item") from error
        before = session.scalar(select(ServiceItem).where(ServiceItem.code == record.code))
        snapshot = None if before is None else ServiceItem(
            name=before.name, category=before.category, aliases=list(before.aliases),
            guide=dict(before.guide))
        upsert_service_items(session, [record], is_demo=False)
        item = session.scalar(select(ServiceItem).where(ServiceItem.code == record.code))
        values = {"code": item.code, "name": item.name, "category": item.category,
                  "aliases": list(item.aliases), "guide": item.guide}
        changes = _changes(snapshot, values)
        if changes:
            session.add(ServiceItemRevision(service_item_id=item.id, uid=uid, source=source,
                                            changes=changes, created_at=utcnow()))
            handled = session.scalars(select(PlaceServiceItem.place_id).where(
                PlaceServiceItem.service_item_id == item.id)).all()
            refresh_place_search_text(session, handled)
        uow.commit()
    return item
