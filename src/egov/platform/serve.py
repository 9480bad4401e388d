"""How `egov serve` listens: its own sockets (every address of a host name, a taken port caught first), metrics."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

APP = "egov.app:create_app"


class PortUnavailable(Exception):
    """The address cannot be listened on; the message says what to change (PORT= / --port)."""


def _addresses(host: str, port: int) -> list[tuple[socket.AddressFamily, tuple[Any, ...]]]:
    """Each distinct address `host` names. `localhost` is both loopbacks whatever /etc/hosts says
    (RFC 6761; Chromium resolves it to ::1 and 127.0.0.1 itself), and a browser may pick either."""
    if host == "localhost":
        return [(socket.AF_INET, ("127.0.0.1", port)), (socket.AF_INET6, ("::1", port, 0, 0))]
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortUnavailable(f"cannot listen on {host!r}: {exc.strerror} (set HOST= or --host)") from None
    out: list[tuple[socket.AddressFamily, tuple[Any, ...]]] = []
    for family, _type, _proto, _name, addr in found:
        if family in (socket.AF_INET, socket.AF_INET6) and (family, addr[:2]) not in [(f, a[:2]) for f, a in out]:
            out.append((family, addr))
    return out


def bind(host: str, port: int) -> list[socket.socket]:
    """Bound sockets for every address of `host`, or PortUnavailable naming PORT= and --port.

    Binding here, before the schema check and before uvicorn starts, is what lets a taken port fail
    in one line instead of a traceback after start-up work. An address family the machine lacks
    (no IPv6 on the loopback) is skipped as long as one address could be bound.
    """
    sockets: list[socket.socket] = []
    missing: list[str] = []
    for family, addr in _addresses(host, port):
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # the IPv4 socket has its own
            sock.bind(addr)
        except OSError as exc:
            sock.close()
            if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                missing.append(addr[0])
                continue
            for other in sockets:
                other.close()
            shown = f"[{addr[0]}]" if family == socket.AF_INET6 else addr[0]
            if exc.errno == errno.EADDRINUSE:
                raise PortUnavailable(
                    f"port {port} is already in use on {shown} ({host}); choose another: "
                    f"`make run PORT={port + 1}` or `egov serve --port {port + 1}`") from None
            raise PortUnavailable(f"cannot listen on {shown}:{port} ({exc.strerror}); "
                                  f"choose another address or port: HOST=/PORT= or --host/--port") from None
        sock.set_inheritable(True)
        sockets.append(sock)
    if not sockets:
        raise PortUnavailable(f"no address of {host!r} can be listened on here ({', '.join(missing)}); "
                              "set HOST= or --host")
    return sockets


def check(host: str, port: int) -> None:
    """Bind and release: `make run` asks this before migrating, so a taken port is the first thing said."""
    for sock in bind(host, port):
        sock.close()


def prepare_metrics(data_dir: Path, workers: int) -> None:
    """With several workers, counters add up through files in a shared directory, emptied at each start.

    prometheus_client picks its storage when first imported, and `egov` has imported it by now;
    that is right for one worker (this process serves, in memory) and right for several only because
    uvicorn's workers are fresh spawned processes that inherit this variable. So it is set here, for
    several workers only, before they start.
    """
    if workers <= 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    metrics_dir = (data_dir / "metrics").resolve()
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)


def run(sockets: list[socket.socket], *, workers: int) -> None:
    """Serve the app on `sockets` (uvicorn), one process or a supervisor and `workers` spawned processes."""
    import logging

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    names = [f"[{s.getsockname()[0]}]:{s.getsockname()[1]}" if s.family == socket.AF_INET6
             else "{}:{}".format(*s.getsockname()) for s in sockets]
    logging.getLogger("egov.serve").info("listening on %s (%d worker%s)", ", ".join(names), workers,
                                         "s" if workers > 1 else "")

    config = uvicorn.Config(APP, factory=True, workers=workers, log_config=None, access_log=False,
                            timeout_graceful_shutdown=10,
                            # The app decides whom to believe about X-Forwarded-For (EGOV_TRUSTED_PROXIES);
                            # uvicorn's own rewriting of the client address from loopback peers would bypass it.
                            proxy_headers=False)
    if workers > 1:
        Multiprocess(config, sockets=sockets).run()
        return
    config.load_app()
    server = uvicorn.Server(config)
    server.run(sockets=sockets)
    if not server.started:
        sys.exit(3)


def main(argv: list[str]) -> int:
    """`python -m egov.platform.serve HOST PORT`: exit 1 with one line when the address is taken."""
    host, port = argv[0], int(argv[1])
    try:
        check(host, port)
    except PortUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
