"""The service-item catalog: guides as typed records, read from and validated like any input.

A catalog file (backend/guidance/data/service_items.json holds the demo one) carries the
items, their guides and the e-certificates (电子证照) a material may be replaced by. It is
validated as a whole before anything is written; items are upserted by their code.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.errors import InvalidInput
from backend.guidance.models import ServiceItem
from backend.places.records import PlaceKind
from backend.places.text import search_document

DEMO_CATALOG = Path(__file__).parent / "data" / "service_items.json"

ITEM_CODE = re.compile(r"[A-Z]{2,4}-[0-9]{3}")
LOCAL_ID = re.compile(r"[a-z][a-z0-9-]*")
CERTIFICATE_CODE = re.compile(r"[A-Z][A-Z_]*")


class HandlingMode(StrEnum):
    FULLY_ONLINE = "FULLY_ONLINE"  # 全程网办
    PROXY = "PROXY"  # 异地代收代办
    MULTI_PLACE = "MULTI_PLACE"  # 多地联办


class MaterialForm(StrEnum):
    ORIGINAL = "ORIGINAL"
    COPY = "COPY"
    ORIGINAL_AND_COPY = "ORIGINAL_AND_COPY"
    ELECTRONIC = "ELECTRONIC"


@dataclass(frozen=True)
class ECertificate:
    code: str
    name: str


@dataclass(frozen=True)
class Question:
    id: str
    text: str


@dataclass(frozen=True)
class Material:
    id: str
    name: str
    form: MaterialForm
    count: int
    note: str
    e_certificate: ECertificate | None
    # Required only when every listed question has this answer; empty: always required.
    when: dict[str, bool]

    def required_for(self, answers: dict[str, bool]) -> bool | None:
        """True/False when the answers decide it, None while a question is unanswered."""
        if any(answers.get(question, expected) != expected
               for question, expected in self.when.items()):
            return False
        return None if any(question not in answers for question in self.when) else True


@dataclass(frozen=True)
class Step:
    title: str
    description: str


@dataclass(frozen=True)
class Guide:
    department: str
    summary: str
    eligibility: str
    handling_modes: tuple[HandlingMode, ...]
    place_kinds: tuple[PlaceKind, ...]
    questions: tuple[Question, ...]
    materials: tuple[Material, ...]
    steps: tuple[Step, ...]
    fee: str
    time_limit: str
    legal_basis: str
    online_url: str
    notice: str

    def to_json(self) -> dict:
        # Through JSON and back: tuples become lists, as the database hands them back.
        return json.loads(json.dumps(asdict(self), ensure_ascii=False))

    @classmethod
    def from_json(cls, data: dict) -> Guide:
        """A guide as stored by `to_json` (already validated when it was written)."""
        return cls(
            department=data["department"],
            summary=data["summary"],
            eligibility=data["eligibility"],
            handling_modes=tuple(HandlingMode(m) for m in data["handling_modes"]),
            place_kinds=tuple(PlaceKind(k) for k in data["place_kinds"]),
            questions=tuple(Question(**q) for q in data["questions"]),
            materials=tuple(
                Material(**{**m, "form": MaterialForm(m["form"]),
                            "e_certificate": ECertificate(**m["e_certificate"])
                            if m["e_certificate"] else None})
                for m in data["materials"]
            ),
            steps=tuple(Step(**s) for s in data["steps"]),
            fee=data["fee"],
            time_limit=data["time_limit"],
            legal_basis=data["legal_basis"],
            online_url=data["online_url"],
            notice=data["notice"],
        )


@dataclass(frozen=True)
class ServiceItemRecord:
    code: str
    name: str
    category: str
    aliases: tuple[str, ...]
    guide: Guide


class _Reader:
    """Reads one item of a catalog, naming the item and field in every refusal."""

    def __init__(self, data: dict, where: str) -> None:
        if not isinstance(data, dict):
            raise InvalidInput(f"{where}：应为对象", "catalog")
        self.data, self.where = data, where

    def fail(self, field: str, problem: str) -> InvalidInput:
        return InvalidInput(f"{self.where} 的 {field}：{problem}", "catalog")

    def text(self, field: str, pattern: re.Pattern | None = None, empty_ok: bool = False) -> str:
        value = self.data.get(field)
        if not isinstance(value, str) or (not empty_ok and not value.strip()):
            raise self.fail(field, "应为非空文本")
        if pattern is not None and not pattern.fullmatch(value):
            raise self.fail(field, f"格式无效（{value}）")
        return value.strip()

    def items(self, field: str, low: int, high: int) -> list:
        value = self.data.get(field)
        if not isinstance(value, list) or not low <= len(value) <= high:
            raise self.fail(field, f"应为 {low} 到 {high} 项的列表")
        return value

    def enums(self, field: str, enum: type[StrEnum]) -> tuple:
        values = self.items(field, 1, len(enum))
        try:
            return tuple(dict.fromkeys(enum(v) for v in values))
        except ValueError as exc:
            raise self.fail(field, f"取值无效：{values}") from exc


def _material(data: dict, where: str, questions: set[str],
              certificates: dict[str, ECertificate]) -> Material:
    reader = _Reader(data, where)
    count = data.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10:
        raise reader.fail("count", "应为 1 到 10 的整数")
    certificate = data.get("e_certificate")
    if certificate is not None and certificate not in certificates:
        raise reader.fail("e_certificate", f"未声明的电子证照 {certificate}")
    when = data.get("when", {})
    if not isinstance(when, dict) or any(
        question not in questions or not isinstance(answer, bool)
        for question, answer in when.items()
    ):
        raise reader.fail("when", "只能引用本事项的问题，答案为 true/false")
    try:
        form = MaterialForm(data.get("form"))
    except ValueError as exc:
        raise reader.fail("form", f"取值无效：{data.get('form')}") from exc
    return Material(
        id=reader.text("id", LOCAL_ID), name=reader.text("name"), form=form, count=count,
        note=reader.text("note", empty_ok=True),
        e_certificate=certificates.get(certificate) if certificate else None, when=dict(when),
    )


def _item(data: dict, index: int, certificates: dict[str, ECertificate],
          notice: str) -> ServiceItemRecord:
    reader = _Reader(data, f"第 {index + 1} 个事项")
    code = reader.text("code", ITEM_CODE)
    reader.where = f"事项 {code}"
    questions = []
    for i, question in enumerate(reader.items("questions", 0, 10)):
        q = _Reader(question, f"事项 {code} 的第 {i + 1} 个问题")
        questions.append(Question(id=q.text("id", LOCAL_ID), text=q.text("text")))
    question_ids = {q.id for q in questions}
    if len(question_ids) != len(questions):
        raise reader.fail("questions", "问题 id 重复")
    materials = tuple(
        _material(m, f"事项 {code} 的第 {i + 1} 项材料", question_ids, certificates)
        for i, m in enumerate(reader.items("materials", 1, 30))
    )
    if len({m.id for m in materials}) != len(materials):
        raise reader.fail("materials", "材料 id 重复")
    unused = question_ids - {q for m in materials for q in m.when}
    if unused:
        raise reader.fail("questions", f"问题 {sorted(unused)} 不影响任何材料")
    steps = tuple(
        Step(title=s.text("title"), description=s.text("description"))
        for s in (_Reader(step, f"事项 {code} 的第 {i + 1} 步")
                  for i, step in enumerate(reader.items("steps", 1, 20)))
    )
    aliases = reader.items("aliases", 0, 10)
    if not all(isinstance(a, str) and a.strip() for a in aliases):
        raise reader.fail("aliases", "应为非空文本列表")
    online_url = reader.text("online_url")
    if not online_url.startswith("https://"):
        raise reader.fail("online_url", "应为 https 链接")
    guide = Guide(
        department=reader.text("department"), summary=reader.text("summary"),
        eligibility=reader.text("eligibility"),
        handling_modes=reader.enums("handling_modes", HandlingMode),
        place_kinds=reader.enums("place_kinds", PlaceKind),
        questions=tuple(questions), materials=materials, steps=steps,
        fee=reader.text("fee"), time_limit=reader.text("time_limit"),
        legal_basis=reader.text("legal_basis"), online_url=online_url, notice=notice,
    )
    return ServiceItemRecord(code=code, name=reader.text("name"),
                             category=reader.text("category"),
                             aliases=tuple(a.strip() for a in aliases), guide=guide)


def parse_catalog(data: dict) -> list[ServiceItemRecord]:
    """Every item of a catalog document, or InvalidInput naming the first problem."""
    catalog = _Reader(data, "目录")
    notice = catalog.text("notice", empty_ok=True)
    certificates = {}
    for i, entry in enumerate(catalog.items("e_certificates", 0, 200)):
        reader = _Reader(entry, f"第 {i + 1} 个电子证照")
        certificate = ECertificate(code=reader.text("code", CERTIFICATE_CODE),
                                   name=reader.text("name"))
        certificates[certificate.code] = certificate
    records = [_item(item, i, certificates, notice)
               for i, item in enumerate(catalog.items("items", 1, 2000))]
    codes = [record.code for record in records]
    if len(set(codes)) != len(codes):
        raise InvalidInput("目录中存在重复的事项编码", "catalog")
    return records


def read_catalog(path: Path = DEMO_CATALOG) -> list[ServiceItemRecord]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"无法读取事项目录 {path}：{exc}", "file") from exc
    return parse_catalog(data)


def item_search_document(name: str, aliases: list[str] | tuple[str, ...], category: str) -> str:
    return search_document(name, *aliases, category)


def upsert_service_items(session: Session, records: list[ServiceItemRecord],
                         is_demo: bool = True) -> tuple[int, int]:
    """Insert or update items by code; returns (created, updated)."""
    existing = {item.code: item for item in session.scalars(select(ServiceItem))}
    created = updated = 0
    for record in records:
        values = {
            "name": record.name, "category": record.category, "aliases": list(record.aliases),
            "guide": record.guide.to_json(), "is_demo": is_demo,
            "search_text": item_search_document(record.name, record.aliases, record.category),
        }
        item = existing.get(record.code)
        if item is None:
            session.add(ServiceItem(code=record.code, **values))
            created += 1
        elif any(getattr(item, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(item, name, value)
            updated += 1
    session.flush()
    return created, updated
