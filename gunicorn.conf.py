"""gunicorn's settings, read from the working directory by `gunicorn wsgi:app` (make run, the
benchmarks, production). Command-line flags override them."""

import os

# Two cores: a worker process per core (the GIL), threads to overlap database waits.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = 4
# Load the application once, in the master: the workers share its memory copy-on-write
# (measured on the demo data: proportional set size of master + 2 workers 216 → 135 MB).
# Code changes then need a restart, not a HUP.
preload_app = True


def post_fork(server, worker):
    # A worker must never use a pooled connection the master may have opened before the fork.
    server.app.wsgi().extensions["servicemap"].engine.dispose(close=False)
