"""gunicorn's settings, read from the working directory by `gunicorn wsgi:app` (make run, the
benchmarks, production). Command-line flags override them."""

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


def when_ready(server):
    # Without this the workers' garbage collector writes to every object it tracks and so
    # copies the shared pages anyway. Measured (bench data 10k, SQLite, after the bench's
    # queries): proportional set size of master + 2 workers 224 MB without preloading, 227 MB
    # preloaded, 181 MB preloaded and frozen.
    gc.freeze()


def post_fork(server, worker):
    # A worker must never use a pooled connection the master may have opened before the fork.
    server.app.wsgi().extensions["servicemap"].engine.dispose(close=False)
