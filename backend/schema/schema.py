"""The root schema, composed from the domain modules."""

import graphene

from backend.schema.booking import BookingMutation, BookingQuery
from backend.schema.guidance import GuidanceQuery
from backend.schema.maps import MapsQuery
from backend.schema.notify import NotifyMutation
from backend.schema.places import PlacesQuery


class Query(MapsQuery, PlacesQuery, GuidanceQuery, BookingQuery, graphene.ObjectType):
    pass


class Mutation(BookingMutation, NotifyMutation, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)
