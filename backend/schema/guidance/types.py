"""GraphQL types of the guidance domain (线上导办): items, guides, checklists."""

from __future__ import annotations

import graphene

from backend.guidance import catalog, queries
from backend.guidance.item_editing import item_document
from backend.schema.core.dataloaders import loaders
from backend.schema.core.errors import domain_errors
from backend.schema.core.pagination import HitsConnection
from backend.schema.core.scalars import DateTime
from backend.schema.guidance.loaders import PlacesHandlingItem
from backend.schema.places.queries import place_criteria
from backend.schema.places.types import BBoxInput, GeoPointInput, PlaceConnection

HandlingMode = graphene.Enum.from_enum(
    catalog.HandlingMode, description="办理方式：全程网办、异地代收代办、多地联办"
)
MaterialForm = graphene.Enum.from_enum(
    catalog.MaterialForm, description="材料形式：原件、复印件、原件及复印件、电子材料"
)


class ECertificate(graphene.ObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True, description="电子证照名称，可代替纸质材料")


class ChecklistQuestion(graphene.ObjectType):
    id = graphene.ID(required=True)
    text = graphene.String(required=True, description="是/否问题，如“申请人是否未满18周岁？”")


class ChecklistAnswer(graphene.ObjectType):
    question_id = graphene.ID(required=True)
    answer = graphene.Boolean(required=True)


class ChecklistAnswerInput(graphene.InputObjectType):
    question_id = graphene.ID(required=True)
    answer = graphene.Boolean(required=True)


class Material(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    form = graphene.Field(MaterialForm, required=True)
    count = graphene.Int(required=True, description="份数")
    note = graphene.String(required=True)
    e_certificate = graphene.Field(ECertificate, description="可代替本材料的电子证照")
    condition = graphene.List(
        graphene.NonNull(ChecklistAnswer), required=True,
        description="仅当这些问题的回答都相符时需要本材料；为空表示所有人都需要",
    )

    @staticmethod
    def resolve_condition(material, info):
        return [ChecklistAnswer(question_id=q, answer=a) for q, a in material.when.items()]


class GuideStep(graphene.ObjectType):
    order = graphene.Int(required=True)
    title = graphene.String(required=True)
    description = graphene.String(required=True)


class Guide(graphene.ObjectType):
    department = graphene.String(required=True, description="受理部门")
    summary = graphene.String(required=True)
    eligibility = graphene.String(required=True, description="申请条件")
    handling_modes = graphene.List(graphene.NonNull(HandlingMode), required=True)
    questions = graphene.List(graphene.NonNull(ChecklistQuestion), required=True)
    materials = graphene.List(graphene.NonNull(Material), required=True,
                              description="全部材料（含按情形需要的）")
    steps = graphene.List(graphene.NonNull(GuideStep), required=True)
    fee = graphene.String(required=True)
    time_limit = graphene.String(required=True, description="办理时限")
    legal_basis = graphene.String(required=True)
    online_url = graphene.String(required=True, description="网上办理入口")
    is_demo_content = graphene.Boolean(required=True, description="是否为演示内容")
    notice = graphene.String(required=True)

    @staticmethod
    def resolve_steps(guide, info):
        return [GuideStep(order=i + 1, title=step.title, description=step.description)
                for i, step in enumerate(guide.steps)]

    @staticmethod
    def resolve_is_demo_content(guide, info):
        return guide.is_demo


class _GuideView:
    """A Guide record with the item's demo flag, as the Guide type reads it."""

    def __init__(self, item) -> None:
        self._guide = queries.guide_of(item)
        self.is_demo = item.is_demo

    def __getattr__(self, name):
        return getattr(self._guide, name)


class Checklist(graphene.ObjectType):
    materials = graphene.List(graphene.NonNull(Material), required=True,
                              description="按回答需要准备的材料")
    pending_questions = graphene.List(
        graphene.NonNull(ChecklistQuestion), required=True,
        description="尚未回答、会影响材料的问题",
    )
    conditional_materials = graphene.List(
        graphene.NonNull(Material), required=True,
        description="取决于尚未回答问题的材料",
    )


def checklist_of(item, answers):
    return queries.checklist(item, [(a.question_id, a.answer) for a in answers or []])


class ServiceItem(graphene.ObjectType):
    id = graphene.ID(required=True)
    code = graphene.String(required=True, description="事项编码")
    name = graphene.String(required=True)
    category = graphene.String(required=True)
    aliases = graphene.List(graphene.NonNull(graphene.String), required=True,
                            description="常用简称，如“社保卡”")
    guide = graphene.Field(Guide, required=True, description="办事指南")
    document = graphene.JSONString(
        required=True,
        description="事项及指南的目录格式（service_items.json 的一项），"
                    "即 upsertServiceItem 的输入")
    checklist = graphene.Field(
        Checklist, required=True,
        answers=graphene.List(graphene.NonNull(ChecklistAnswerInput), required=True),
        description="根据对指南问题的回答，生成个人材料清单",
    )
    places = graphene.Field(
        PlaceConnection, required=True,
        near=GeoPointInput(), radius_meters=graphene.Float(), bbox=BBoxInput(),
        region_code=graphene.String(), cluster_code=graphene.String(), open_at=DateTime(),
        text=graphene.String(), first=graphene.Int(default_value=20), after=graphene.String(),
        description="可办理本事项的场所；给出 near 时由近到远",
    )

    @staticmethod
    def resolve_guide(item, info):
        return _GuideView(item)

    @staticmethod
    def resolve_document(item, info):
        return item_document(item)

    @staticmethod
    @domain_errors
    def resolve_checklist(item, info, answers):
        return checklist_of(item, answers)

    @staticmethod
    @domain_errors
    def resolve_places(item, info, **arguments):
        # Every item of a page with the same arguments is searched in one batch.
        criteria = tuple(sorted(place_criteria(**arguments).items()))
        return loaders(info)[PlacesHandlingItem].load((item.id, criteria))


class ServiceItemEdge(graphene.ObjectType):
    node = graphene.Field(ServiceItem, required=True)
    cursor = graphene.String(required=True)

    @staticmethod
    def resolve_node(hit, info):
        return hit.item


class ServiceItemConnection(HitsConnection):
    edges, page_info = HitsConnection.fields(ServiceItemEdge)
