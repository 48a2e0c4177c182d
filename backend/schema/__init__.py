"""GraphQL schema (graphene), one module per domain; resolvers stay thin."""
