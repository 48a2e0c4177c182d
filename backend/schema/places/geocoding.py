"""GraphQL geocodeAddress for the editor console: candidates for an address, through the geopy
geocoder the settings name."""

from __future__ import annotations

import graphene

from backend.places import geocoding
from backend.schema.core.dataloaders import loaders
from backend.schema.core.errors import domain_errors
from backend.schema.places.loaders import RegionByCode
from backend.schema.places.types import CRS, GeoPoint, LatLon, Region, enum_value
from geodata import crs as crs_module
from geodata.gazetteer import PRECISIONS

GeocodePrecision = graphene.Enum(
    "GeocodePrecision", [(name, name) for name in PRECISIONS],
    description="精度：POI（具体地点或门牌）、STREET（道路）、DISTRICT（区县中心）、CITY（城市中心）")


class GeocodeCandidate(graphene.ObjectType):
    location = graphene.Field(GeoPoint, required=True, crs=CRS(default_value="WGS84"))
    formatted_address = graphene.String(required=True)
    precision = graphene.Field(GeocodePrecision, required=True)
    provider = graphene.String(required=True, description="offline、baidu 或 nominatim")
    region = graphene.Field(Region, description="位置所在的区县（或城市）")

    @staticmethod
    def resolve_location(candidate, info, crs="WGS84"):
        crs = crs_module.CRS(enum_value(crs))
        return LatLon(*crs_module.from_wgs84(candidate.lat, candidate.lon, crs))

    @staticmethod
    def resolve_region(candidate, info):
        return loaders(info)[RegionByCode].load(candidate.region_code)


class GeocodeQuery(graphene.ObjectType):
    geocode_address = graphene.Field(
        graphene.List(graphene.NonNull(GeocodeCandidate)), required=True,
        address=graphene.String(required=True), region_code=graphene.String(),
        description="地址解析（内容编辑与管理员）：按设置的地理编码服务（GEOCODER）给出候选位置，"
                    "最好的在前；给出 regionCode 时只保留该地区内的候选")

    @staticmethod
    @domain_errors
    def resolve_geocode_address(root, info, address, region_code=None):
        context = info.context
        return geocoding.geocode_address(context.unit_of_work(), context.principal,
                                         context.geocoder, address, region_code)
