"""Start ``streamlit run streamlit_app.py`` on a free loopback port, wait until it is healthy,
and stop it afterwards: one helper for the browser test and the load bench.

    with streamlit_server(log=Path("/tmp/server.log")) as server:
        urllib.request.urlopen(server.url)
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


class ServerStartError(RuntimeError):
    """The server exited, or did not answer its health check in time."""


@dataclass(frozen=True)
class Server:
    """A running server: its port, its base URL and its process."""

    port: int
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def healthy(self, timeout: float = 1.0) -> bool:
        """Whether ``/_stcore/health`` answers ``ok`` now."""
        try:
            with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=timeout) as reply:
                return reply.read() == b"ok"
        except OSError:
            return False


def free_port() -> int:
    """A TCP port free on loopback now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_command(port: int, options: Sequence[str] = ()) -> list[str]:
    """The ``streamlit run`` command line; ``options`` are extra ``key=value`` settings (for
    experiments: the product's settings are its ``.streamlit/config.toml``)."""
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "streamlit_app.py"),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        HOST,
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    for option in options:
        key, _, value = option.partition("=")
        command += [f"--{key}", value]
    return command


def _stop(proc: subprocess.Popen, wait: float) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(wait)


@contextlib.contextmanager
def streamlit_server(
    log: Path | None = None, options: Sequence[str] = (), timeout: float = 60.0
) -> Iterator[Server]:
    """Run the app's server for the ``with`` block; it is stopped (terminated, then killed after
    15 s) when the block ends, however it ends.

    Args:
        log: where the server's stdout and stderr go (discarded if None).
        options: extra ``key=value`` streamlit settings.
        timeout: seconds to wait for ``/_stcore/health`` to answer ``ok``.

    Raises:
        ServerStartError: the server exited or was not healthy within ``timeout``.
    """
    port = free_port()
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(log, "w")) if log is not None else subprocess.DEVNULL
        proc = subprocess.Popen(
            server_command(port, options),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        stack.callback(_stop, proc, 15)
        server = Server(port, proc)
        deadline = time.monotonic() + timeout
        while not server.healthy():
            if proc.poll() is not None:
                raise ServerStartError(f"streamlit exited with status {proc.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"streamlit was not healthy after {timeout:.0f} s; see {log}"
                )
            time.sleep(0.2)
        yield server
