"""The root schema, composed from the domains' schema packages."""

import graphene

from backend.schema.accounts.admin import AdminMutation, AdminQuery
from backend.schema.booking.mutations import BookingMutation
from backend.schema.booking.queries import BookingQuery
from backend.schema.core.defaults import null_means_default
from backend.schema.guidance.mutations import GuidanceMutation
from backend.schema.guidance.queries import GuidanceQuery
from backend.schema.notify.mutations import NotifyMutation
from backend.schema.places.calendar import CalendarMutation, CalendarQuery
from backend.schema.places.geocoding import GeocodeQuery
from backend.schema.places.imports import ImportMutation
from backend.schema.places.mutations import PlacesMutation
from backend.schema.places.queries import MapsQuery, PlacesQuery
from backend.schema.places.reports import PlaceReportsMutation, PlaceReportsQuery


class Query(MapsQuery, PlacesQuery, GuidanceQuery, BookingQuery, GeocodeQuery, AdminQuery,
            CalendarQuery, PlaceReportsQuery, graphene.ObjectType):
    pass


class Mutation(PlacesMutation, ImportMutation, GuidanceMutation, BookingMutation,
               NotifyMutation, AdminMutation, CalendarMutation, PlaceReportsMutation,
               graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)
null_means_default(schema.graphql_schema)
