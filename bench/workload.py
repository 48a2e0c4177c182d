"""What the bench asks: the fixed query centres and the parameters of the nearby, text and
cluster queries, the same for every scale, store and server."""

from __future__ import annotations

CENTRE_SEED = 20_260_601
N_CENTRES = 200
RADIUS_M = 3000.0
FIRST = 20
KINDS = ["SERVICE_HALL", "CLINIC", "ELDERLY_CARE"]  # all three: PostGraphile returns the same rows
TEXT = "医保"
ZOOMS = (8, 12)


def centres() -> list[tuple[float, float]]:
    """N_CENTRES query centres drawn like the data (where people are), fixed for every run."""
    from backend.fixtures.bench_places import sample_points

    lat, lon, _ = sample_points(N_CENTRES, CENTRE_SEED)
    return list(zip(lat.tolist(), lon.tolist(), strict=True))
