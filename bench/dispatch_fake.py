"""The fake FCM of the tests (tests/notify/fake_fcm.py) for the dispatch bench: in a child
process of its own (so its threaded HTTP server does not share the measured process's GIL;
real FCM is another machine) or on threads of this process; what it answered, and the TCP
connections it accepted."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from pathlib import Path


def _count_connections(fake) -> list[int]:
    """Counts the TCP connections the fake's server accepts (a private attribute of it)."""
    counter = [0]
    server = fake._server
    accept = server.process_request

    def counting(request, client_address) -> None:
        counter[0] += 1
        accept(request, client_address)

    server.process_request = counting
    return counter


def _fake_stats(fake, connections: list[int]) -> dict:
    requests = fake.requests
    ok = [r for r in requests if r.reply.ok and not r.validate_only]
    return {
        "ok": len(ok),
        "not_ok": len(requests) - len(ok),
        "pairs": sorted((r.token, (r.message.get("data") or {}).get("notificationId"))
                        for r in ok),
        "connections": connections[0],
        "token_requests": fake.token_requests,
    }


def _fake_child(conn) -> None:
    """The fake FCM in a process of its own, driven through a pipe."""
    from tests.notify.fake_fcm import FakeFcm

    fake = FakeFcm().start()
    connections = _count_connections(fake)
    conn.send((fake.base_url, fake.service_account_info()))
    while True:
        command = conn.recv()
        if command == "reset":
            fake.reset()
            connections[0] = 0
            conn.send(True)
        elif command == "stats":
            conn.send(_fake_stats(fake, connections))
        else:
            fake.stop()
            conn.send(True)
            return


class ChildFake:
    where = "child process"

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child_end = context.Pipe()
        self.process = context.Process(target=_fake_child, args=(child_end,), daemon=True,
                                       name="fake-fcm")
        self.process.start()
        self.base_url, self.account = self.conn.recv()
        self.project_id = self.account["project_id"]

    def reset(self) -> None:
        self.conn.send("reset")
        self.conn.recv()

    def stats(self) -> dict:
        self.conn.send("stats")
        return self.conn.recv()

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the fake's process has used so far."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            self.conn.send("stop")
            self.conn.recv()
        self.process.join(5)


class LocalFake:
    where = "this process (threads)"

    def __init__(self) -> None:
        from tests.notify.fake_fcm import FakeFcm

        self.fake = FakeFcm().start()
        self.connections = _count_connections(self.fake)
        self.base_url = self.fake.base_url
        self.account = self.fake.service_account_info()
        self.project_id = self.fake.project_id

    def reset(self) -> None:
        self.fake.reset()
        self.connections[0] = 0

    def stats(self) -> dict:
        return _fake_stats(self.fake, self.connections)

    def cpu_seconds(self) -> float | None:
        return None  # counted in this process's

    def stop(self) -> None:
        self.fake.stop()
