"""The root schema, composed from the domain modules."""

import graphene

from backend.schema.places import PlacesQuery


class Query(PlacesQuery, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query)
