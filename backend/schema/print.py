"""Print the schema in SDL: `python -m backend.schema.print > graphql/schema.graphql`."""

from backend.schema.schema import schema
from graphql import print_schema


def schema_sdl() -> str:
    return print_schema(schema.graphql_schema) + "\n"


if __name__ == "__main__":
    print(schema_sdl(), end="")
