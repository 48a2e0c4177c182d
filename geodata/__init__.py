"""Pure geospatial helpers: map datums, geodesic distances, administrative regions."""
