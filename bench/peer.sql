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
