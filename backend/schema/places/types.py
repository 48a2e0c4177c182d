"""GraphQL types of places (DESIGN.md §5 names): places, regions, the map's clusters and
navigation links."""

from __future__ import annotations

import json
from typing import NamedTuple

import graphene

from backend.booking.permissions import require_hall_editor
from backend.places import clusters, navigation, records, regions, revisions, search
from backend.places.store import ClinicFilter as ClinicFilterRecord
from backend.places.store import ElderlyCareFilter as ElderlyCareFilterRecord
from backend.schema.core.dataloaders import loaders
from backend.schema.core.errors import domain_errors
from backend.schema.core.pagination import HitsConnection, PageInfo
from backend.schema.core.scalars import DateTime
from backend.schema.places.loaders import (
    EveryWindowAt,
    ItemsHandledAt,
    RegionByCode,
    WindowsAt,
)
from geodata import crs as crs_module
from geodata.regions import RegionLevel as RegionLevelEnum

CRS = graphene.Enum.from_enum(
    crs_module.CRS, description="坐标系：WGS84（GPS）、GCJ02（高德/腾讯）、BD09（百度）"
)
PlaceKind = graphene.Enum.from_enum(records.PlaceKind, description="服务场所类型")
RegionLevel = graphene.Enum.from_enum(RegionLevelEnum, description="行政区划级别")


def enum_value(value):
    return getattr(value, "value", value)


class GeoPointInput(graphene.InputObjectType):
    lat = graphene.Float(required=True)
    lon = graphene.Float(required=True)
    crs = CRS(default_value=crs_module.CRS.WGS84.value)

    def to_domain(self) -> search.GeoPoint:
        return search.GeoPoint(self.lat, self.lon, crs_module.CRS(enum_value(self.crs)))


class BBoxInput(graphene.InputObjectType):
    south = graphene.Float(required=True)
    west = graphene.Float(required=True)
    north = graphene.Float(required=True)
    east = graphene.Float(required=True)
    crs = CRS(default_value=crs_module.CRS.WGS84.value)

    def to_domain(self) -> search.BBoxQuery:
        return search.BBoxQuery(
            self.south, self.west, self.north, self.east, crs_module.CRS(enum_value(self.crs))
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
    clusters = graphene.List(
        graphene.NonNull(lambda: Cluster), required=True,
        description="本区域所在的城市群（省份：城市群包含其全部城市时）",
    )

    @staticmethod
    def resolve_level(region, info):
        return RegionLevelEnum(region.level)

    @staticmethod
    def resolve_clusters(region, info):
        return regions.clusters_of_region(info.context.session, region)

    @staticmethod
    def resolve_parent(region, info):
        return loaders(info)[RegionByCode].load(region.parent_code)


class Cluster(graphene.ObjectType):
    """A city cluster (城市群): its member cities and its list of cross-region items."""

    code = graphene.String(required=True, description="城市群代码，如 yrd、chengyu、hubaoeyuwu")
    name = graphene.String(required=True, description="简称，如 成渝")
    full_name = graphene.String(required=True, description="全称，如 成渝地区双城经济圈")
    cities = graphene.List(graphene.NonNull(Region), required=True, description="成员城市")
    cities_source = graphene.String(required=True, description="成员城市名单的出处")
    service_item_list = graphene.String(
        required=True, description="本城市群的通办事项清单（演示清单注明“演示”）")
    centre = graphene.Field(GeoPoint, required=True, crs=CRS(default_value="WGS84"),
                            description="地图中心")
    zoom = graphene.Int(required=True, description="地图缩放级别")

    @staticmethod
    def resolve_cities(pack, info):
        found = regions.regions_by_code(info.context.session, pack.cities)
        return [found[code] for code in pack.cities if code in found]

    @staticmethod
    def resolve_service_item_list(pack, info):
        return pack.item_list

    @staticmethod
    def resolve_centre(pack, info, crs="WGS84"):
        return LatLon(*crs_module.from_wgs84(*pack.centre, crs_module.CRS(enum_value(crs))))


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
    version = graphene.Int(required=True,
                           description="版本号：每次修改加一；修改时原样带上（乐观并发）")
    archived = graphene.Boolean(required=True,
                                description="是否已停用（停用的地点不出现在搜索和地图中）")
    archived_reason = graphene.String(description="停用原因")
    revisions = graphene.Field(
        lambda: PlaceRevisionConnection, required=True, first=graphene.Int(default_value=20),
        after=graphene.String(),
        description="修改记录，最新的在前（该地区的内容编辑与管理员可见）")
    # Types of higher domains' schema packages are named by path (graphene resolves it):
    # the schema packages depend on each other in the domains' one direction.
    service_items = graphene.List(
        graphene.NonNull("backend.schema.guidance.types.ServiceItem"), required=True,
        description="可在此办理的跨省通办事项",
    )
    windows = graphene.List(
        graphene.NonNull("backend.schema.booking.types.Window"), required=True,
        include_inactive=graphene.Boolean(
            description="true：连同已停用的窗口（仅该地区的内容编辑与管理员）"),
        description="可预约的通办窗口（仅政务服务大厅）",
    )
    navigation = graphene.Field(
        lambda: NavigationLinks, required=True,
        description="线下导航：用高德、百度、Apple 地图导航到此处的链接（各用其坐标系）",
    )

    @staticmethod
    @domain_errors
    def resolve_revisions(place, info, first=20, after=None):
        return revisions.place_revisions(info.context.session, info.context.principal, place,
                                         first, after)

    @staticmethod
    def resolve_navigation(place, info):
        return navigation.navigation_links(place.name, place.lat, place.lon)

    @staticmethod
    @domain_errors
    def resolve_windows(place, info, include_inactive=None):
        if not include_inactive:
            return loaders(info)[WindowsAt].load(place.id)
        require_hall_editor(info.context.principal, place)  # now, as a GraphQL error
        return loaders(info)[EveryWindowAt].load(place.id)

    @staticmethod
    def resolve_kind(place, info):
        return records.PlaceKind(place.kind)

    @staticmethod
    def resolve_location(place, info, crs="WGS84"):
        crs = crs_module.CRS(enum_value(crs))
        if crs is crs_module.CRS.WGS84:
            return LatLon(place.lat, place.lon)
        return LatLon(*crs_module.from_wgs84(place.lat, place.lon, crs))

    @staticmethod
    def resolve_region(place, info):
        return loaders(info)[RegionByCode].load(
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
        return info.context.open_at(at).is_open(place.opening_hours)

    @staticmethod
    def resolve_opening_status(place, info, at=None):
        if not place.opening_hours:
            return None
        return info.context.open_at(at).status(place.opening_hours)

    @staticmethod
    def resolve_service_items(place, info):
        handled = getattr(place, "handled_items", None)  # read with the place (`place(id)`)
        if handled is not None:
            return handled
        return loaders(info)[ItemsHandledAt].load(place.id)


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


class PlaceConnection(HitsConnection):
    edges, page_info = HitsConnection.fields(PlaceEdge)


def _crs(crs) -> crs_module.CRS:
    return crs_module.CRS(enum_value(crs))


class BBox(graphene.ObjectType):
    south = graphene.Float(required=True)
    west = graphene.Float(required=True)
    north = graphene.Float(required=True)
    east = graphene.Float(required=True)


class MapCluster(graphene.ObjectType):
    count = graphene.Int(required=True, description="该网格内的场所数")
    center = graphene.Field(
        GeoPoint, required=True, crs=CRS(default_value="WGS84"),
        description="成员位置的平均点（在 WGS-84 中求平均后换算）",
    )
    bbox = graphene.Field(
        BBox, required=True, crs=CRS(default_value="WGS84"),
        description="成员的经纬度范围，用于点击后放大；在 WGS-84 中求得，"
                    "其他坐标系取四角换算后的外包框（边缘可有数米出入）",
    )
    place_id = graphene.ID(description="只有一个场所时为其 id，可直接打开详情")

    @staticmethod
    def resolve_center(cluster: clusters.MapCluster, info, crs="WGS84"):
        lat, lon = crs_module.from_wgs84(cluster.lat, cluster.lon, _crs(crs))
        return GeoPoint(lat=lat, lon=lon)

    @staticmethod
    def resolve_bbox(cluster: clusters.MapCluster, info, crs="WGS84"):
        corners = [crs_module.from_wgs84(lat, lon, _crs(crs))
                   for lat in (cluster.south, cluster.north)
                   for lon in (cluster.west, cluster.east)]
        lats, lons = [lat for lat, _ in corners], [lon for _, lon in corners]
        return BBox(south=min(lats), west=min(lons), north=max(lats), east=max(lons))

    @staticmethod
    def resolve_place_id(cluster: clusters.MapCluster, info):
        return None if cluster.place_id is None else str(cluster.place_id)


class NavigationLink(graphene.ObjectType):
    crs = graphene.Field(CRS, required=True, description="该地图应用使用的坐标系")
    location = graphene.Field(GeoPoint, required=True, description="目的地在该坐标系下的坐标")
    web_url = graphene.String(required=True, description="网页版链接（未安装应用时使用）")
    ios_app_url = graphene.String(required=True, description="iOS 应用调起链接")
    android_app_url = graphene.String(description="Android 应用调起链接；无 Android 版时为 null")

    @staticmethod
    def resolve_location(link: navigation.MapLink, info):
        return GeoPoint(lat=link.lat, lon=link.lon)


class NavigationLinks(graphene.ObjectType):
    name = graphene.String(required=True, description="目的地名称")
    amap = graphene.Field(NavigationLink, required=True, description="高德地图（GCJ-02）")
    baidu = graphene.Field(NavigationLink, required=True, description="百度地图（BD-09）")
    apple = graphene.Field(NavigationLink, required=True,
                           description="Apple 地图（在中国使用高德数据，GCJ-02）")


class FieldChange(graphene.ObjectType):
    """一个字段的修改（Open Referral HSDS metadata 的 field_name / previous_value /
    replacement_value）；值为 JSON 文本。"""

    field = graphene.String(required=True)
    old = graphene.String(description="修改前的值（JSON）")
    new = graphene.String(description="修改后的值（JSON）")

    @staticmethod
    def resolve_field(change, info):
        return change["field"]

    @staticmethod
    def resolve_old(change, info):
        return json.dumps(change["old"], ensure_ascii=False)

    @staticmethod
    def resolve_new(change, info):
        return json.dumps(change["new"], ensure_ascii=False)


class PlaceRevision(graphene.ObjectType):
    version = graphene.Int(required=True, description="这次修改后的版本号")
    action = graphene.String(
        required=True, description="create、update、archive、restore、items、import、revert")
    uid = graphene.String(description="修改人（导入且未指定 --as 时为 null）")
    source = graphene.String(required=True, description="来源：console、cli、import:<文件名>")
    created_at = DateTime(required=True)
    changes = graphene.List(graphene.NonNull(FieldChange), required=True)


class PlaceRevisionEdge(graphene.ObjectType):
    node = graphene.Field(PlaceRevision, required=True)
    cursor = graphene.String(required=True)


class PlaceRevisionConnection(graphene.ObjectType):
    edges = graphene.List(graphene.NonNull(PlaceRevisionEdge), required=True)
    page_info = graphene.Field(PageInfo, required=True)

    @staticmethod
    def resolve_edges(page, info):
        return [PlaceRevisionEdge(node=revision, cursor=page.cursor(revision))
                for revision in page.revisions]

    @staticmethod
    def resolve_page_info(page, info):
        return PageInfo.of(page, page.revisions, page.cursor)
