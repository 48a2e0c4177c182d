"""GraphQL queries of places: `places`, `place`, `regionAt`, `regions`, `clusters`,
`mapClusters`."""

from __future__ import annotations

import graphene

from backend.core.paging import DEFAULT_PAGE_SIZE
from backend.guidance.queries import search_places_handling
from backend.places import clusters, search
from backend.places.city_clusters import cluster_packs
from backend.places.regions import list_regions, region_chain_at
from backend.schema.core.errors import domain_errors
from backend.schema.core.scalars import DateTime
from backend.schema.places.loaders import place_by_id
from backend.schema.places.types import (
    BBoxInput,
    ClinicFilter,
    Cluster,
    ElderlyCareFilter,
    GeoPointInput,
    MapCluster,
    Place,
    PlaceConnection,
    PlaceKind,
    Region,
    RegionLevel,
    enum_value,
)


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
            [enum_value(kind) for kind in kinds] if kinds is not None else None,
        )


def place_criteria(*, near=None, radius_meters=None, bbox=None, region_code=None,
                   cluster_code=None, kinds=None, open_at=None, text=None, clinic=None,
                   elderly_care=None, first=DEFAULT_PAGE_SIZE, after=None) -> dict:
    """A search's arguments as the domain takes them (hashable: a loader key can hold them)."""
    return dict(
        near=near.to_domain() if near is not None else None,
        radius_m=radius_meters,
        bbox=bbox.to_domain() if bbox is not None else None,
        region_code=region_code,
        cluster_code=cluster_code,
        kinds=tuple(enum_value(kind) for kind in kinds) if kinds is not None else None,
        open_at=open_at,
        text=text,
        clinic=clinic.to_domain() if clinic is not None else None,
        elderly_care=elderly_care.to_domain() if elderly_care is not None else None,
        first=first,
        after=after,
    )


def search_places_for(info, *, service_item_id=None, **arguments) -> search.PlacePage:
    """One page of `places`; with `service_item_id`, of the places that handle that item."""
    criteria = place_criteria(**arguments)
    session, store = info.context.session, info.context.store
    if service_item_id is None:
        return search.search_places(session, store, **criteria)
    return search_places_handling(session, store, service_item_id, **criteria)


class PlacesQuery(graphene.ObjectType):
    places = graphene.Field(
        PlaceConnection,
        required=True,
        near=GeoPointInput(description="按距离由近到远排序的中心点"),
        radius_meters=graphene.Float(description="搜索半径（米），不超过 50000；需要 near"),
        bbox=BBoxInput(),
        region_code=graphene.String(description="行政区划代码：省、市或区县"),
        cluster_code=graphene.String(description="城市群代码（clusters 的 code），如 yrd、chengyu"),
        kinds=graphene.List(graphene.NonNull(PlaceKind)),
        service_item_id=graphene.ID(description="只要可办理该事项的场所"),
        open_at=DateTime(description="只要该时刻营业的场所；不带时区按北京时间"),
        text=graphene.String(description="名称、地址、可办事项：中文、拼音或拼音首字母"),
        clinic=ClinicFilter(description="对医疗机构的条件（只约束 CLINIC）"),
        elderly_care=ElderlyCareFilter(description="对养老机构的条件（只约束 ELDERLY_CARE）"),
        first=graphene.Int(default_value=DEFAULT_PAGE_SIZE),
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
    clusters = graphene.List(
        graphene.NonNull(Cluster), required=True,
        description="城市群：长三角、成渝、呼包鄂榆乌，各含成员城市",
    )

    @staticmethod
    @domain_errors
    def resolve_places(root, info, **arguments):
        return search_places_for(info, **arguments)

    @staticmethod
    def resolve_place(root, info, id):
        return place_by_id(info, id)

    @staticmethod
    @domain_errors
    def resolve_region_at(root, info, point):
        lat, lon = search.validate_point(point.to_domain(), "point")
        return region_chain_at(info.context.session, lat, lon)

    @staticmethod
    def resolve_clusters(root, info):
        return cluster_packs()

    @staticmethod
    @domain_errors
    def resolve_regions(root, info, level=None, parent_code=None):
        return list_regions(
            info.context.session,
            level=enum_value(level) if level is not None else None,
            parent_code=parent_code,
        )
