"""GraphQL importPlaces for the editor console: the file by the GraphQL multipart request
spec, the same use case and report as `flask places import`."""

from __future__ import annotations

import graphene

from backend.places.import_file import ImportReport, RowError, import_places_file
from backend.places.import_rows import FORMATS, guess_format
from backend.places.permissions import require_some_editor
from backend.schema.core.errors import domain_errors
from backend.schema.core.scalars import Upload
from backend.schema.places.types import CRS, enum_value
from geodata import crs as crs_module

MAX_UPLOAD_BYTES = 20 * 1024 * 1024

ImportFormat = graphene.Enum("ImportFormat", [(name.upper(), name) for name in FORMATS],
                             description="导入文件格式")


class ImportIssue(graphene.ObjectType):
    row = graphene.String(required=True, description="第 N 行 / 第 N 个要素 / 文件")
    column = graphene.String(description="列名（与文件整体有关时为 null）")
    message = graphene.String(required=True, description="中文说明")

    @classmethod
    def of(cls, issue: RowError) -> ImportIssue:
        return cls(row=issue.row, column=issue.column, message=issue.message)


class ImportPlacesPayload(graphene.ObjectType):
    dry_run = graphene.Boolean(required=True)
    source = graphene.String(required=True)
    created = graphene.List(graphene.NonNull(graphene.String), required=True,
                            description="新建地点的 external_id")
    updated = graphene.List(graphene.NonNull(graphene.String), required=True)
    unchanged = graphene.Int(required=True)
    archived = graphene.List(graphene.NonNull(graphene.String), required=True,
                             description="sync 时停用的地点")
    warnings = graphene.List(graphene.NonNull(ImportIssue), required=True)
    errors = graphene.List(graphene.NonNull(ImportIssue), required=True,
                           description="全部错误（最多 200 条）；有错误时未写入任何数据")
    truncated = graphene.Boolean(required=True, description="错误超过 200 条，只列出前 200 条")

    @classmethod
    def of(cls, report: ImportReport) -> ImportPlacesPayload:
        return cls(dry_run=report.dry_run, source=report.source, created=report.created,
                   updated=report.updated, unchanged=report.unchanged,
                   archived=report.archived, truncated=report.truncated,
                   warnings=[ImportIssue.of(w) for w in report.warnings],
                   errors=[ImportIssue.of(e) for e in report.errors])


class ImportMutation(graphene.ObjectType):
    import_places = graphene.Field(
        ImportPlacesPayload, required=True, file=Upload(required=True),
        format=ImportFormat(description="默认按文件名：.csv、.xlsx，否则 GeoJSON"),
        crs=CRS(description="坐标系（默认：文件自带的，否则 WGS84）"),
        source=graphene.String(description="数据来源名：与 external_id 一起识别地点"),
        dry_run=graphene.Boolean(default_value=False, description="只检查并报告，不写入"),
        sync=graphene.Boolean(default_value=False, description="停用该来源中文件不再列出的地点"),
        force=graphene.Boolean(default_value=False, description="sync 停用超过 40% 时仍执行"),
        description="导入地点文件（CSV、Excel、GeoJSON、高德 POI），与命令行 places import 相同")

    @staticmethod
    @domain_errors
    def resolve_import_places(root, info, file, format=None, crs=None, source=None,
                              dry_run=False, sync=False, force=False):
        principal = info.context.principal
        require_some_editor(principal)
        data = file.read(MAX_UPLOAD_BYTES + 1)
        name = file.filename or "upload"
        if len(data) > MAX_UPLOAD_BYTES:
            report = ImportReport(file_name=name, source=source or "", dry_run=dry_run)
            report.errors.append(RowError("文件", None, "文件超过 20 MB"))
            return ImportPlacesPayload.of(report)
        return ImportPlacesPayload.of(import_places_file(
            info.context.unit_of_work(), principal, data, file_name=name,
            file_format=enum_value(format) or guess_format(name),
            crs=None if crs is None else crs_module.CRS(enum_value(crs)), source=source,
            dry_run=dry_run, sync=sync, force=force, origin="console-import"))
