"""GraphQL types and queries of the places domain (DESIGN.md §5 names)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, NamedTuple

import graphene

from backend.places import records, search
from backend.places.regions import list_regions, region_chain_at
from backend.places.store import ClinicFilter as ClinicFilterRecord
from backend.places.store import ElderlyCareFilter as ElderlyCareFilterRecord
from backend.schema.errors import domain_errors
from backend.schema.scalars import DateTime
from geodata import crs as crs_module
from geodata.regions import RegionLevel as RegionLevelEnum

CRS = graphene.Enum.from_enum(
    crs_module.CRS, description="坐标系：WGS84（GPS）、GCJ02（高德/腾讯）、BD09（百度）"
)
PlaceKind = graphene.Enum.from_enum(records.PlaceKind, description="服务场所类型")
RegionLevel = graphene.Enum.from_enum(RegionLevelEnum, description="行政区划级别")


def _enum_value(value):
    return getattr(value, "value", value)


class GeoPointInput(graphene.InputObjectType):
    lat = graphene.Float(required=True)
    lon = graphene.Float(required=True)
    crs = CRS(default_value=crs_module.CRS.WGS84.value)

    def to_domain(self) -> search.GeoPoint:
        return search.GeoPoint(self.lat, self.lon, crs_module.CRS(_enum_value(self.crs)))


class BBoxInput(graphene.InputObjectType):
    south = graphene.Float(required=True)
    west = graphene.Float(required=True)
    north = graphene.Float(required=True)
    east = graphene.Float(required=True)
    crs = CRS(default_value=crs_module.CRS.WGS84.value)

    def to_domain(self) -> search.BBoxQuery:
        return search.BBoxQuery(
            self.south, self.west, self.north, self.east, crs_module.CRS(_enum_value(self.crs))
        )


class ClinicFilter(graphene.InputObjectType):
    cross_province_settlement = graphene.Boolean(description="是否开通跨省异地就医直接结算")

    def to_domain(self) -> ClinicFilterRecord:
        return ClinicFilterRecord(cross_province_settlement=self.cross_province_settlement)


class ElderlyCareFilter(graphene.InputObjectType):
    accepts_non_local = graphene.Boolean(description="是否接收异地老人")
    min_available_beds = graphene.Int(description="至少有这么多空余床位")

    def to_domain(self) -> ElderlyCareFilterRecord:
        return ElderlyCareFilterRecord(accepts_non_local=self.accepts_non_local,
                                       min_available_beds=self.min_available_beds)


class LatLon(NamedTuple):
    """What a GeoPoint is resolved from (lighter than the graphene object)."""

    lat: float
    lon: float


class GeoPoint(graphene.ObjectType):
    lat = graphene.Float(required=True)
    lon = graphene.Float(required=True)


class Region(graphene.ObjectType):
    code = graphene.String(required=True, description="行政区划代码（adcode）")
    name = graphene.String(required=True)
    level = graphene.Field(RegionLevel, required=True)
    parent = graphene.Field(lambda: Region)

    @staticmethod
    def resolve_level(region, info):
        return RegionLevelEnum(region.level)

    @staticmethod
    def resolve_parent(region, info):
        return info.context.regions.load(region.parent_code)


class ClinicInfo(graphene.ObjectType):
    level = graphene.String(description="医院等级，如 三级甲等、社区卫生服务中心")
    cross_province_settlement = graphene.Boolean(description="是否开通跨省异地就医直接结算")

    @staticmethod
    def resolve_level(place, info):
        return place.clinic_level


class ElderlyCareInfo(graphene.ObjectType):
    beds = graphene.Int(description="床位总数")
    available_beds = graphene.Int(description="空余床位")
    accepts_non_local = graphene.Boolean(description="是否接收异地（非本地户籍）老人")
    care_levels = graphene.List(graphene.NonNull(graphene.String), required=True,
                                description="可提供的照护等级，如 自理、半失能、失能、失智")

    @staticmethod
    def resolve_care_levels(place, info):
        return place.care_levels or []


class OpeningStatus(graphene.ObjectType):
    is_open = graphene.Boolean(required=True, description="此刻是否营业")
    closes_at = DateTime(description="营业中：本次营业的结束时间")
    next_open_at = DateTime(description="未营业：14 天内下一次开始营业的时间")
    day_note = graphene.String(
        description="当天是法定节假日或调休上班日时的说明，如 今日国庆节，放假")


class Place(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    kind = graphene.Field(PlaceKind, required=True)
    address = graphene.String()
    phone = graphene.String()
    location = graphene.Field(GeoPoint, required=True, crs=CRS(default_value="WGS84"))
    region = graphene.Field(Region, description="所在区县（无法确定区县时为所在城市）")
    source = graphene.String(required=True, description="数据来源：generated（演示生成）、amap 等")
    external_id = graphene.String(required=True, description="来源系统中的编号（如高德 POI id）")
    clinic = graphene.Field(ClinicInfo, description="医疗机构属性，仅 CLINIC")
    elderly_care = graphene.Field(ElderlyCareInfo, description="养老机构属性，仅 ELDERLY_CARE")
    opening_hours = graphene.String(
        description="营业时间（OpenStreetMap opening_hours 语法），如 Mo-Fr 09:00-12:00; PH off"
    )
    is_open = graphene.Boolean(
        at=DateTime(description="默认为现在；不带时区的时间按北京时间理解"),
        description="在该时刻是否营业（按法定节假日与调休上班日历）；营业时间未知时为 null",
    )
    opening_status = graphene.Field(
        OpeningStatus,
        at=DateTime(description="默认为现在；不带时区的时间按北京时间理解"),
        description=("营业状态：是否营业、何时结束或下次何时开始，以及当天的节假日说明；"
                     "营业时间未知时为 null"),
    )
    service_items = graphene.List(
        graphene.NonNull(lambda: _service_item_type()), required=True,
        description="可在此办理的跨省通办事项",
    )
    windows = graphene.List(
        graphene.NonNull("backend.schema.booking.Window"), required=True,
        description="可预约的通办窗口（仅政务服务大厅）",
    )
    # A dotted path, resolved lazily by graphene: backend.schema.maps imports this module.
    navigation = graphene.Field(
        "backend.schema.maps.NavigationLinks", required=True,
        description="线下导航：用高德、百度、Apple 地图导航到此处的链接（各用其坐标系）",
    )

    @staticmethod
    def resolve_navigation(place, info):
        from backend.schema.maps import resolve_place_navigation

        return resolve_place_navigation(place, info)

    @staticmethod
    def resolve_windows(place, info):
        return info.context.windows.load(place.id)

    @staticmethod
    def resolve_kind(place, info):
        return records.PlaceKind(place.kind)

    @staticmethod
    def resolve_location(place, info, crs="WGS84"):
        crs = crs_module.CRS(_enum_value(crs))
        if crs is crs_module.CRS.WGS84:
            return LatLon(place.lat, place.lon)
        return LatLon(*crs_module.from_wgs84(place.lat, place.lon, crs))

    @staticmethod
    def resolve_region(place, info):
        return info.context.regions.load(
            place.county_code or place.city_code or place.province_code
        )

    @staticmethod
    def resolve_clinic(place, info):
        return place if place.kind == records.PlaceKind.CLINIC.value else None

    @staticmethod
    def resolve_elderly_care(place, info):
        return place if place.kind == records.PlaceKind.ELDERLY_CARE.value else None

    @staticmethod
    def resolve_is_open(place, info, at=None):
        if not place.opening_hours:
            return None
        return info.context.open_at(at or datetime.now(UTC)).is_open(place.opening_hours)

    @staticmethod
    def resolve_opening_status(place, info, at=None):
        if not place.opening_hours:
            return None
        # One evaluator (and one calendar read) per minute for a page of places.
        at = at or datetime.now(UTC).replace(second=0, microsecond=0)
        return info.context.open_at(at).status(place.opening_hours)

    @staticmethod
    def resolve_service_items(place, info):
        return info.context.handled_items.load(place.id)


def _service_item_type():
    from backend.schema.guidance import ServiceItem

    return ServiceItem


class PageInfo(graphene.ObjectType):
    has_next_page = graphene.Boolean(required=True)
    has_previous_page = graphene.Boolean(required=True)
    start_cursor = graphene.String()
    end_cursor = graphene.String()

    @classmethod
    def of(cls, page, items: Sequence, cursor_of: Callable[[Any], str] = attrgetter("cursor")
           ) -> PageInfo:
        """A page's flags, and the cursors of its first and last items."""
        return cls(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=cursor_of(items[0]) if items else None,
            end_cursor=cursor_of(items[-1]) if items else None,
        )


class PlaceEdge(graphene.ObjectType):
    node = graphene.Field(Place, required=True)
    cursor = graphene.String(required=True)
    distance_meters = graphene.Float(
        description="到 near 的椭球面测地距离（米），仅在给出 near 时有值"
    )

    @staticmethod
    def resolve_node(hit, info):
        return hit.place

    @staticmethod
    def resolve_distance_meters(hit, info):
        return hit.distance_m


class PlaceConnection(graphene.ObjectType):
    edges = graphene.List(graphene.NonNull(PlaceEdge), required=True)
    page_info = graphene.Field(PageInfo, required=True)

    @staticmethod
    def resolve_edges(page, info):
        return page.hits

    @staticmethod
    def resolve_page_info(page, info):
        return PageInfo.of(page, page.hits)


def search_places_for(
    info, *, near=None, radius_meters=None, bbox=None, region_code=None, kinds=None,
    service_item_id=None, open_at=None, text=None, clinic=None, elderly_care=None,
    first=search.DEFAULT_PAGE_SIZE, after=None,
) -> search.PlacePage:
    """One page of `places` (also `ServiceItem.places`), relations primed for batch loading."""
    page = search.search_places(
        info.context.session,
        info.context.store,
        near=near.to_domain() if near is not None else None,
        radius_m=radius_meters,
        bbox=bbox.to_domain() if bbox is not None else None,
        region_code=region_code,
        kinds=[_enum_value(kind) for kind in kinds] if kinds is not None else None,
        service_item_id=service_item_id,
        open_at=open_at,
        text=text,
        clinic=clinic.to_domain() if clinic is not None else None,
        elderly_care=elderly_care.to_domain() if elderly_care is not None else None,
        first=first,
        after=after,
    )
    info.context.regions.want(
        hit.place.county_code or hit.place.city_code or hit.place.province_code
        for hit in page.hits
    )
    info.context.handled_items.want(hit.place.id for hit in page.hits)
    info.context.windows.want(hit.place.id for hit in page.hits)
    return page


class PlacesQuery(graphene.ObjectType):
    places = graphene.Field(
        PlaceConnection,
        required=True,
        near=GeoPointInput(description="按距离由近到远排序的中心点"),
        radius_meters=graphene.Float(description="搜索半径（米），不超过 50000；需要 near"),
        bbox=BBoxInput(),
        region_code=graphene.String(description="行政区划代码：省、市或区县"),
        kinds=graphene.List(graphene.NonNull(PlaceKind)),
        service_item_id=graphene.ID(description="只要可办理该事项的场所"),
        open_at=DateTime(description="只要该时刻营业的场所；不带时区按北京时间"),
        text=graphene.String(description="名称、地址、可办事项：中文、拼音或拼音首字母"),
        clinic=ClinicFilter(description="对医疗机构的条件（只约束 CLINIC）"),
        elderly_care=ElderlyCareFilter(description="对养老机构的条件（只约束 ELDERLY_CARE）"),
        first=graphene.Int(default_value=search.DEFAULT_PAGE_SIZE),
        after=graphene.String(),
        description="查找服务场所。给出 near 时由近到远（同距离按 id），"
                    "否则给出 text 时按相关度，否则按 id。",
    )
    place = graphene.Field(Place, id=graphene.ID(required=True))
    region_at = graphene.Field(
        graphene.List(graphene.NonNull(Region)), required=True,
        point=GeoPointInput(required=True),
        description="某点所在的区县、城市、省份，由小到大",
    )
    regions = graphene.Field(
        graphene.List(graphene.NonNull(Region)), required=True,
        level=RegionLevel(), parent_code=graphene.String(),
    )

    @staticmethod
    @domain_errors
    def resolve_places(root, info, **arguments):
        return search_places_for(info, **arguments)

    @staticmethod
    def resolve_place(root, info, id):
        return search.get_place(info.context.session, id)

    @staticmethod
    @domain_errors
    def resolve_region_at(root, info, point):
        lat, lon = search.validate_point(point.to_domain(), "point")
        return region_chain_at(info.context.session, lat, lon)

    @staticmethod
    @domain_errors
    def resolve_regions(root, info, level=None, parent_code=None):
        return list_regions(
            info.context.session,
            level=_enum_value(level) if level is not None else None,
            parent_code=parent_code,
        )
