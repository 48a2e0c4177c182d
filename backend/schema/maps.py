"""GraphQL types and queries of the map screen: clusters and navigation links (DESIGN.md §5)."""

from __future__ import annotations

import graphene

from backend.places import clusters, navigation
from backend.schema.errors import domain_errors
from backend.schema.places import CRS, BBoxInput, GeoPoint, PlaceKind, _enum_value
from geodata import crs as crs_module


def _crs(crs) -> crs_module.CRS:
    return crs_module.CRS(_enum_value(crs))


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


def resolve_place_navigation(place, info) -> navigation.NavigationLinks:
    """Place.navigation (declared in backend.schema.places, which this module imports)."""
    return navigation.navigation_links(place.name, place.lat, place.lon)


class MapsQuery(graphene.ObjectType):
    map_clusters = graphene.Field(
        graphene.List(graphene.NonNull(MapCluster)),
        required=True,
        bbox=BBoxInput(required=True),
        zoom=graphene.Int(required=True),
        kinds=graphene.List(graphene.NonNull(PlaceKind)),
        description="地图点聚合：bbox（地图可视范围）内的场所按 zoom（0 到 20，Web 墨卡托）"
                    "下 64 像素的网格计数，由北到南、由西到东排列；范围超过 10000 个网格时报错",
    )

    @staticmethod
    @domain_errors
    def resolve_map_clusters(root, info, bbox, zoom, kinds=None):
        return clusters.map_clusters(
            info.context.session,
            bbox.to_domain(),
            zoom,
            [_enum_value(kind) for kind in kinds] if kinds is not None else None,
        )
