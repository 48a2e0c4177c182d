"""GraphQL of places: search, regions, the map (clusters, navigation)."""
