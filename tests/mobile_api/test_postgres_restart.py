"""PostgreSQL restarted under the real app server (gunicorn, two workers, pooled connections,
no pre-ping): the reads after the server is back succeed on the first try, even on the pooled
connections the restart dropped, and the answers during the outage are a clean
SERVICE_UNAVAILABLE, never a 500. A PostgreSQL cluster of the test's own is restarted (never the
shared server): it needs pg_createcluster (Debian's postgresql-common) and the rights to run it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.app_server import DEVELOPMENT_ENV, free_port, gunicorn_server
from tests.conftest import REQUIRE_POSTGIS, make_test_app
from tests.helpers import ROOT, operation

pytestmark = pytest.mark.postgis

NEARBY = operation("NearbyPlaces")
REGIONS = operation("Regions")
SAMPLE_PLACES = ROOT / "docs" / "sample_places.csv"  # three places in Hangzhou
HANGZHOU = {"lat": 30.2741, "lon": 120.1551}
# Ports apart from the other test servers' (8160–8199): the cluster and its app server.
CLUSTER_PORTS, SERVER_PORTS = (18250, 18299), (18200, 18249)
THREADS = 8  # as many as the server's worker threads: every pooled connection in use
UNAVAILABLE_CODE = "SERVICE_UNAVAILABLE"


def _unavailable_reason() -> str | None:
    """Why no cluster of our own can be made here, or None."""
    tools = ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        return f"no {', '.join(missing)} (Debian's postgresql-common) to make a cluster"
    if os.geteuid() != 0:
        return "pg_createcluster needs root to make a cluster of the test's own"
    if not _postgis_versions():
        return "no PostgreSQL with the postgis extension (apt-get install postgresql-15-postgis-3)"
    return None


def _postgis_versions() -> list[str]:
    return sorted((path.parent.parent.name for path in
                   Path("/usr/share/postgresql").glob("*/extension/postgis.control")
                   if Path(f"/usr/lib/postgresql/{path.parent.parent.name}/bin/postgres")
                   .exists()), key=int)


@dataclass
class Cluster:
    version: str
    name: str
    port: int

    def ctl(self, action: str) -> None:
        # start and restart return once the server accepts connections (pg_ctl --wait).
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name,
                        action], check=True, capture_output=True, timeout=120)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    reason = _unavailable_reason()
    if reason is not None:
        if REQUIRE_POSTGIS:
            pytest.fail(f"REQUIRE_POSTGIS=1 but {reason}")
        pytest.skip(reason)
    cluster = Cluster(_postgis_versions()[-1], f"restart_{uuid.uuid4().hex[:8]}",
                      free_port(*CLUSTER_PORTS))
    # Trust on 127.0.0.1 as on the development machines; not started with the machine.
    subprocess.run(["pg_createcluster", cluster.version, cluster.name, "--port",
                    str(cluster.port), "--start-conf", "manual", "--", "--auth-host=trust",
                    "--auth-local=peer"], check=True, capture_output=True, timeout=120)
    try:
        cluster.ctl("start")
        yield cluster
    finally:
        subprocess.run(["pg_dropcluster", "--stop", cluster.version, cluster.name],
                       capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def server(cluster: Cluster) -> Iterator[str]:
    """The app server on the regions and the sample places (the demo data would take minutes
    to load on PostgreSQL); its base URL."""
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE servicemap"))
    admin.dispose()
    app = make_test_app(cluster.url("servicemap"))
    for args in (["seed", "regions"], ["places", "import", str(SAMPLE_PLACES), "--source",
                                       "sample"]):
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 0, result.output
    app.extensions["servicemap"].engine.dispose()
    # Rate limits off: the clients send as fast as they can from one address.
    with gunicorn_server(cluster.url("servicemap"), {**DEVELOPMENT_ENV, "RATE_LIMITS_ENABLED": "0"},
                        port=free_port(*SERVER_PORTS)) as base:
        yield base


@dataclass
class Answer:
    status: int
    codes: list[str]
    body: str

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.codes

    @property
    def clean_unavailable(self) -> bool:
        """A JSON GraphQL body saying SERVICE_UNAVAILABLE (HTTP 503 before execution, else 200
        with the error on its field), nothing else."""
        return self.status in (200, 503) and bool(self.codes) and all(
            code == UNAVAILABLE_CODE for code in self.codes)


def _read(base: str, number: int) -> Answer:
    """One read, a nearby search (the store's statements, then the ORM's for the places) or
    the regions (the ORM's)."""
    if number % 2:
        body = {"query": NEARBY, "variables": {"near": HANGZHOU, "radiusMeters": 5000}}
    else:
        body = {"query": REGIONS, "variables": {"level": "CITY"}}
    request = urllib.request.Request(base + "/graphql", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read().decode()
    try:
        errors = json.loads(raw).get("errors") or []
    except ValueError:
        return Answer(status, ["NOT JSON"], raw[:300])
    return Answer(status, [(e.get("extensions") or {}).get("code") or "NO CODE" for e in errors],
                  raw[:300])


def _read_concurrently(base: str, per_thread: int) -> list[Answer]:
    answers: list[Answer] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        for number in range(per_thread):
            answer = _read(base, index + number)
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _server_connections(cluster: Cluster) -> int:
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        count = connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'servicemap'")).scalar()
    admin.dispose()
    return count


def test_restart__first_reads_on_the_dropped_pooled_connections_succeed(cluster: Cluster,
                                                                        server: str):
    # given: both workers' pools hold connections (concurrent reads)
    warm = _read_concurrently(server, per_thread=6)
    assert all(answer.ok for answer in warm), [a for a in warm if not a.ok][:3]
    pooled = _server_connections(cluster)
    assert pooled >= 2

    # when: PostgreSQL restarts while they sit in the pools (each is dead now)
    cluster.ctl("restart")

    # then: the first reads after it, one per pooled connection and more, all succeed
    after = _read_concurrently(server, per_thread=3)
    assert [a for a in after if not a.ok] == []


def test_restart_under_load__clean_unavailable_during_then_answers(cluster: Cluster,
                                                                   server: str):
    answers: list[tuple[str, Answer]] = []  # (phase when the request was sent, answer)
    phase = {"now": "before"}
    stop = threading.Event()
    lock = threading.Lock()

    def client(index: int) -> None:
        number = index
        while not stop.is_set():
            sent_in = phase["now"]
            answer = _read(server, number)
            number += 1
            with lock:
                answers.append((sent_in, answer))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    try:
        _wait_for(lambda: sum(p == "before" for p, _ in answers) >= 3 * THREADS, stop)
        # when: PostgreSQL stops under the load, stays away a while, comes back
        phase["now"] = "outage"
        cluster.ctl("stop")
        _wait_for(lambda: sum(p == "outage" for p, _ in answers) >= 3 * THREADS, stop)
        cluster.ctl("start")
        phase["now"] = "back"
        _wait_for(lambda: sum(p == "back" for p, _ in answers) >= 5 * THREADS, stop)
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    # then: never a 500 nor a body without a code; an outage is SERVICE_UNAVAILABLE; after it,
    # every read succeeds
    assert [a for _, a in answers if not (a.ok or a.clean_unavailable)] == []
    assert any(a.clean_unavailable for p, a in answers if p == "outage")
    assert [a for p, a in answers if p == "back" and not a.ok] == []


def _wait_for(condition, stop: threading.Event) -> None:  # noqa: ANN001
    """Until the clients have sent enough requests (a count, not a time)."""
    while not condition():
        if stop.wait(0.05):
            return


def test_nearby_read__finds_the_sample_places(server: str):
    # the reads above are real ones: the nearby search answers the places around
    body = {"query": NEARBY, "variables": {"near": HANGZHOU, "radiusMeters": 5000}}
    request = urllib.request.Request(server + "/graphql", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        edges = json.loads(response.read())["data"]["places"]["edges"]
    assert len(edges) == 3
