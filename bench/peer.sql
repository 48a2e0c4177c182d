-- The peer's side of the comparison: radius search the way PostGraphile / Hasura users write
-- it, a SQL function returning rows of a composite type with the distance. bench/run.py runs
-- this in its own bench_* databases only; it is not part of the application's migrations.
--
-- Same semantics as PostgisStore.nearest: ST_DWithin on the sphere with a 1 % margin as the
-- GiST prefilter, exact ST_Distance on the spheroid, ordered by (distance, id). The region
-- (county, else city, else province) is joined in, as our API returns region { code name }.
-- LANGUAGE sql STABLE and a single SELECT: PostgreSQL inlines it, so PostGraphile's LIMIT
-- (first: 20) reaches the plan.

DO $$
BEGIN
  CREATE TYPE bench_nearby_place AS (
    id integer,
    kind text,
    name text,
    address text,
    phone text,
    lat double precision,
    lon double precision,
    region_code text,
    region_name text,
    distance_meters double precision
  );
EXCEPTION WHEN duplicate_object THEN NULL;
END
$$;

CREATE OR REPLACE FUNCTION nearby_places(lat double precision, lon double precision,
                                         radius double precision)
RETURNS SETOF bench_nearby_place
LANGUAGE sql STABLE
AS $$
  SELECT c.id, c.kind::text, c.name::text, c.address::text, c.phone::text, c.lat, c.lon,
         r.code::text, r.name::text, c.distance_meters
  FROM (
    SELECT p.id, p.kind, p.name, p.address, p.phone, p.lat, p.lon,
           coalesce(p.county_code, p.city_code, p.province_code) AS region_code,
           ST_Distance(p.geog, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography)
             AS distance_meters
    FROM place p
    WHERE ST_DWithin(p.geog, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography,
                     $3 * 1.01 + 1.0, false)
  ) AS c
  LEFT JOIN region r ON r.code = c.region_code
  WHERE c.distance_meters <= $3
  ORDER BY c.distance_meters, c.id
$$;

COMMENT ON FUNCTION nearby_places(double precision, double precision, double precision) IS
  'Places within radius metres of (lat, lon), nearest first (bench peer, not the app).';

-- The second peer: KNN first, the fastest a PostGraphile user could write with the same
-- answers. `<->` walks the GiST index nearest first and stops at the (page_size + 1)-th place;
-- its sphere distance, 1 % wider (sphere vs spheroid), is the circle the exact spheroid
-- distance ranks, capped at the radius: the page of the raw SQL (bench/raw.py POSTGIS_NEARBY),
-- without ranking every place of the radius. page_size is the `first` it is queried with
-- (PostGraphile fetches first + 1 rows, so the circle holds them). A scalar subquery, not a
-- CTE: PostgreSQL still inlines the function.
CREATE OR REPLACE FUNCTION nearby_places_knn(lat double precision, lon double precision,
                                             radius double precision,
                                             page_size integer DEFAULT 20)
RETURNS SETOF bench_nearby_place
LANGUAGE sql STABLE
AS $$
  SELECT c.id, c.kind::text, c.name::text, c.address::text, c.phone::text, c.lat, c.lon,
         r.code::text, r.name::text, c.distance_meters
  FROM (
    SELECT p.id, p.kind, p.name, p.address, p.phone, p.lat, p.lon,
           coalesce(p.county_code, p.city_code, p.province_code) AS region_code,
           ST_Distance(p.geog, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography)
             AS distance_meters
    FROM place p
    WHERE ST_DWithin(
      p.geog, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography,
      LEAST($3 * 1.01 + 1.0,
            coalesce((SELECT ST_Distance(k.geog, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography,
                                         false)
                      FROM place k
                      ORDER BY k.geog <-> ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography
                      OFFSET $4 LIMIT 1) * 1.01 + 1.0,
                     $3 * 1.01 + 1.0)),
      false)
  ) AS c
  LEFT JOIN region r ON r.code = c.region_code
  WHERE c.distance_meters <= $3
  ORDER BY c.distance_meters, c.id
$$;

COMMENT ON FUNCTION nearby_places_knn(double precision, double precision, double precision,
                                      integer) IS
  'Places within radius metres of (lat, lon), nearest first, KNN first (bench peer, not the app).';

-- FindPlaces (text + geo) and PlaceDetail through PostGraphile: functions returning the
-- `place` table's own type, so PostGraphile exposes its columns and relations (service items
-- through place_service_item, regions through their parent) as for any table row, plus two
-- computed columns. What PostGraphile cannot give without a plugin: isOpen / openingStatus
-- (the OSM opening_hours rules are evaluated in Python by our API).
--
-- The text is the tsquery our API makes of it (backend.places.text: `'医保'`), matched against
-- the same generated tsvector and GIN index. No radius: the matches nearest first, ordered by
-- (exact spheroid distance, id), archived places left out — the order of our API's
-- places(near, text).

-- The plain way: rank every match by its exact distance.
CREATE OR REPLACE FUNCTION find_places(lat double precision, lon double precision,
                                       text_query text)
RETURNS SETOF place
LANGUAGE sql STABLE
AS $$
  SELECT p.*
  FROM place p
  WHERE p.archived IS false AND p.search_vector @@ CAST($3 AS tsquery)
  ORDER BY ST_Distance(p.geog, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography), p.id
$$;

COMMENT ON FUNCTION find_places(double precision, double precision, text) IS
  'Places matching a tsquery, nearest first (bench peer, not the app).';

-- KNN first, as nearby_places_knn: `<->` over the matches picks the (page_size + 1)-th; its
-- sphere distance, 1 % wider, is the circle the exact distance ranks (the whole Earth when
-- there are fewer matches). page_size is the `first` it is queried with.
CREATE OR REPLACE FUNCTION find_places_knn(lat double precision, lon double precision,
                                           text_query text, page_size integer DEFAULT 20)
RETURNS SETOF place
LANGUAGE sql STABLE
AS $$
  SELECT p.*
  FROM place p
  WHERE p.archived IS false AND p.search_vector @@ CAST($3 AS tsquery)
    AND ST_DWithin(
      p.geog, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography,
      coalesce((SELECT ST_Distance(k.geog, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography,
                                   false)
                FROM place k
                WHERE k.archived IS false AND k.search_vector @@ CAST($3 AS tsquery)
                ORDER BY k.geog <-> ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography
                OFFSET $4 LIMIT 1) * 1.01 + 1.0,
               20040000.0),
      false)
  ORDER BY ST_Distance(p.geog, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography), p.id
$$;

COMMENT ON FUNCTION find_places_knn(double precision, double precision, text, integer) IS
  'Places matching a tsquery, nearest first, KNN first (bench peer, not the app).';

-- Computed column Place.distanceMeters(lat, lon): the exact spheroid distance.
CREATE OR REPLACE FUNCTION place_distance_meters(p place, lat double precision,
                                                 lon double precision)
RETURNS double precision
LANGUAGE sql STABLE
AS $$
  SELECT ST_Distance(p.geog, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography)
$$;

-- Computed column Place.region: the county, else the city, else the province, as our API's
-- Place.region (its parents through the region table's own relation).
CREATE OR REPLACE FUNCTION place_region(p place)
RETURNS region
LANGUAGE sql STABLE
AS $$
  SELECT r.* FROM region r WHERE r.code = coalesce(p.county_code, p.city_code, p.province_code)
$$;
