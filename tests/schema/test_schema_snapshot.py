"""graphql/schema.graphql is the contract the apps build against; it must match the code."""

from backend.schema.print import schema_sdl
from tests.helpers import ROOT


def test_schema__printed_from_code__matches_snapshot():
    snapshot = (ROOT / "graphql" / "schema.graphql").read_text(encoding="utf-8")
    assert schema_sdl() == snapshot, "schema drifted: run `make schema` and review the diff"


def test_schema__graphql_folder__is_not_a_python_package():
    # graphql/__init__.py would shadow graphql-core and break `import graphene`.
    assert not (ROOT / "graphql" / "__init__.py").exists()
