"""Start ``streamlit run streamlit_app.py`` on a free loopback port, wait until it is healthy,
and stop it afterwards: one helper for the browser test and the load bench. ``streamlit_replicas``
starts N of them and ``nginx_proxy`` puts deploy/nginx.conf in front of them.

    with streamlit_server(log=Path("/tmp/server.log")) as server:
        urllib.request.urlopen(server.url)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"


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

    def stop(self, wait: float = 15) -> None:
        """Terminate the process (kill it after ``wait`` seconds)."""
        _stop(self.proc, wait)


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


def _launch(stack: contextlib.ExitStack, log: Path | None, options: Sequence[str]) -> Server:
    """Start one ``streamlit run`` (stopped when ``stack`` closes); not waited for."""
    port = free_port()
    out = subprocess.DEVNULL
    if log is not None:
        out = stack.enter_context(open(log, "w"))  # noqa: SIM115 (the stack closes it)
    proc = subprocess.Popen(
        server_command(port, options),
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    stack.callback(_stop, proc, 15)
    return Server(port, proc)


def _wait_healthy(server: Server, what: str, log: Path | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not server.healthy():
        problem = None
        if server.proc.poll() is not None:
            problem = f"{what} exited with status {server.proc.returncode}"
        elif time.monotonic() > deadline:
            problem = f"{what} was not healthy after {timeout:.0f} s"
        if problem:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise ServerStartError(f"{problem}; see {log}\n{tail}".rstrip())
        time.sleep(0.2)


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
    with contextlib.ExitStack() as stack:
        server = _launch(stack, log, options)
        _wait_healthy(server, "streamlit", log, timeout)
        yield server


@contextlib.contextmanager
def streamlit_replicas(
    count: int, log: Path | None = None, options: Sequence[str] = (), timeout: float = 90.0
) -> Iterator[list[Server]]:
    """``count`` app servers started together (each on its own port; logs ``<log>.<i>``), all
    healthy before the block runs, all stopped after it."""
    with contextlib.ExitStack() as stack:
        logs = [None if log is None else log.with_name(f"{log.name}.{i}") for i in range(count)]
        servers = [_launch(stack, each, options) for each in logs]
        for server, each in zip(servers, logs):
            _wait_healthy(server, "streamlit", each, timeout)
        yield servers


def nginx_config(
    upstream_ports: Sequence[int], listen_port: int, show_upstream: bool = False
) -> str:
    """deploy/nginx.conf for loopback: its ``listen`` on ``listen_port`` and its one
    ``server app:8501`` line made one line per replica port. ``show_upstream`` adds an
    ``X-Upstream`` response header naming the replica (for the bench and the tests only).

    Raises:
        ValueError: deploy/nginx.conf no longer has exactly one of each line to replace.
    """
    text = NGINX_CONF.read_text()
    server = re.compile(r"^(\s*)server app:8501( [^;]*)?;$", re.M)
    listen = re.compile(r"^(\s*)listen 8080;$", re.M)
    if len(server.findall(text)) != 1 or len(listen.findall(text)) != 1:
        raise ValueError(f"{NGINX_CONF}: expected one 'server app:8501' and one 'listen 8080;'")

    def servers(match: re.Match[str]) -> str:
        indent, extra = match.group(1), match.group(2) or ""
        return "\n".join(f"{indent}server {HOST}:{port}{extra};" for port in upstream_ports)

    text = server.sub(servers, text)
    extra = r"\n\1add_header X-Upstream $upstream_addr always;" if show_upstream else ""
    return listen.sub(rf"\1listen {HOST}:{listen_port};{extra}", text)


@contextlib.contextmanager
def nginx_proxy(
    upstream_ports: Sequence[int], show_upstream: bool = False, timeout: float = 30.0
) -> Iterator[Server]:
    """Debian's nginx with deploy/nginx.conf in front of ``upstream_ports``, in the foreground
    (``daemon off``) with its prefix, pid, temp dirs and config in a temp dir, on a free
    loopback port; healthy (``/_stcore/health`` through it) before the block runs. Its log is
    ``error.log`` in that dir.

    Raises:
        ServerStartError: no ``nginx`` on PATH, or it exited or was not healthy in time.
    """
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        raise ServerStartError("nginx is not installed (apt-get install -y nginx)")
    port = free_port()
    with contextlib.ExitStack() as stack:
        prefix = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="netbuilder-nginx-")))
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_config(upstream_ports, port, show_upstream))
        log = prefix / "error.log"
        out = stack.enter_context(open(log, "w"))
        proc = subprocess.Popen(
            [binary, "-p", f"{prefix}/", "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        stack.callback(_stop, proc, 15)
        server = Server(port, proc)
        _wait_healthy(server, "nginx", log, timeout)
        yield server
