"""gunicorn's settings, read from the working directory by `gunicorn wsgi:app` (make run, the
benchmarks, production). Command-line flags override them."""

import contextlib
import ctypes
import gc
import os

# Two cores: a worker process per core (the GIL), threads to overlap database waits.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = 4
# Load the application once, in the master, and fork the workers from it: they share its
# memory copy-on-write. Code changes then need a restart, not a HUP.
preload_app = True
# gunicorn 27 opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl): two
# servers on one host (a deploy, the bench, the tests) would share it. Nothing here uses it.
control_socket_disable = True
# The application writes one JSON line per request (mobile_api/request_log.py) instead of an
# access log. Should one be turned on (--access-logfile), it names the path only: a query
# string holds phone numbers and check-in codes; referrers would too.
accesslog = None
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'


def when_ready(server):
    # The region index of all of China (each region's box; the outlines stay in the database)
    # built once, here, and shared by the forked workers instead of one copy each.
    from backend.places.regions import warm_region_index

    app = server.app.wsgi()
    services = app.extensions["servicemap"]
    try:
        with services.read_session_factory() as session:
            server.log.info("region index: %d regions", warm_region_index(session))
    except Exception as error:  # an empty or unmigrated database: the workers build it later
        server.log.warning("region index not built before the fork: %s", error)
    # The master serves no request: its pooled connection (on SQLite with a page cache full
    # of the outlines just read, ~2 MB) would only be copied into each worker's memory.
    services.engine.dispose()
    _return_free_memory()
    # Without this the workers' garbage collector writes to every object it tracks and so
    # copies the shared pages anyway. Measured (bench data 10k, SQLite, after the bench's
    # queries): proportional set size of master + 2 workers 224 MB without preloading, 227 MB
    # preloaded, 181 MB preloaded and frozen.
    gc.freeze()


def _return_free_memory():
    # On SQLite building the index parsed ~11 MB of outlines page by page and freed them; glibc
    # keeps such memory in the heap, and the workers would inherit it. Not glibc: nothing to do.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def post_fork(server, worker):
    from backend.db import bound_sqlite_cache

    engine = server.app.wsgi().extensions["servicemap"].engine
    # A worker must never use a pooled connection the master may have opened before the fork.
    engine.dispose(close=False)
    bound_sqlite_cache(engine)
