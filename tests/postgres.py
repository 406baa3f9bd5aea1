"""A throwaway PostgreSQL 15 cluster for tests: initdb + pg_ctl in a temp dir on a free port.

Running as root, the cluster runs as the ``postgres`` user (PostgreSQL refuses root), which owns
the temp dir. Tests that use it skip only when the binaries are absent.

    from tests.postgres import postgres_url  # the fixture: a postgresql:// URL, one per session
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BIN = Path(os.environ.get("NETBUILDER_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "netbuilder"


def available() -> bool:
    return all((BIN / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_owner(args: list[str]) -> list[str]:
    """Run as the ``postgres`` user when we are root (initdb refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@contextmanager
def cluster() -> Iterator[str]:
    """Start a cluster, yield its URL, stop it and delete its files."""
    root = Path(tempfile.mkdtemp(prefix="nb-pg-"))
    data, port = root / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    run = {"check": True, "capture_output": True, "timeout": 60}
    started = False
    try:
        initdb = [str(BIN / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8"]
        subprocess.run(_as_owner([*initdb, "--no-sync"]), **run)
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        )
        pg_ctl = [str(BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log")]
        subprocess.run(_as_owner([*pg_ctl, "-w", "start"]), **run)
        started = True
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                _as_owner([str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not available():
        pytest.skip(f"PostgreSQL binaries not found in {BIN}")
    with cluster() as url:
        yield url
