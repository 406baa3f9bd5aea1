"""The deployment recipe in deploy/: nginx's config checked by nginx itself, the compose and
Kubernetes files parsed and cross-checked against each other, the Dockerfile and
requirements.txt; and two replicas behind that nginx losing one mid-run."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from bench.bench_load import Result, Session
from tests import postgres
from tests.server import (
    HOST,
    NGINX_CONF,
    ROOT,
    nginx_config,
    nginx_proxy,
    streamlit_replicas,
)

DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (.ci/run installs it)"
)
HEALTH = "/_stcore/health"


def dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text()


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def kubernetes_docs() -> list[dict]:
    return list(yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()))


def kubernetes(name: str = "netbuilder") -> dict[str, dict]:
    """The manifest's objects of one name (the app's by default), by kind."""
    return {doc["kind"]: doc for doc in kubernetes_docs() if doc["metadata"]["name"] == name}


def nginx_directives() -> list[str]:
    """deploy/nginx.conf's directives, comments dropped."""
    lines = (re.sub(r"#.*", "", line).strip() for line in NGINX_CONF.read_text().splitlines())
    return [line for line in lines if line]


def image_port() -> int:
    (port,) = re.findall(r"^EXPOSE (\d+)$", dockerfile(), re.M)
    return int(port)


# --- nginx.conf --------------------------------------------------------------------------------


@needs_nginx
def test_nginx_accepts_the_config_as_the_bench_renders_it(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_config([8501, 8502], 8080, show_upstream=True))
    check = subprocess.run(
        [NGINX, "-t", "-p", f"{tmp_path}/", "-c", str(conf), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stderr
    assert "syntax is ok" in check.stderr


@needs_nginx
def test_nginx_rejects_a_broken_config(tmp_path):
    """The check above can fail: nginx -t refuses a config with a directive it does not know."""
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        nginx_config([8501], 8080).replace("proxy_buffering off;", "proxy_bufering off;")
    )
    check = subprocess.run(
        [NGINX, "-t", "-p", f"{tmp_path}/", "-c", str(conf), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode != 0 and "proxy_bufering" in check.stderr


def test_nginx_config_proxies_websockets_and_balances_per_browser():
    directives = nginx_directives()
    for needed in (
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_buffering off;",
        "proxy_read_timeout 1h;",
        "hash $netbuilder_affinity consistent;",
        "default $cookie__streamlit_xsrf;",
    ):
        assert needed in directives, needed
    assert not any(d.startswith(("ip_hash", "least_conn")) for d in directives)


def test_nginx_config_renders_one_upstream_line_per_replica():
    text = nginx_config([1111, 2222, 3333], 4444)
    assert re.findall(r"server 127\.0\.0\.1:(\d+) max_fails", text) == ["1111", "2222", "3333"]
    assert "listen 127.0.0.1:4444;" in text and "server app:8501 " not in text


# --- compose, Kubernetes, Dockerfile -------------------------------------------------------------


def test_compose_runs_the_image_behind_this_nginx_conf():
    services = compose()["services"]
    app, proxy = services["app"], services["nginx"]
    assert app["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert app["expose"] == [str(image_port())]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert proxy["depends_on"]["app"]["condition"] == "service_healthy"
    # nginx's upstream is compose's app service on the image's port; it listens where compose maps
    (upstream,) = [d for d in nginx_directives() if d.startswith("server app:")]
    assert upstream.split()[1] == f"app:{image_port()}"
    (listen,) = [d for d in nginx_directives() if d.startswith("listen ")]
    assert proxy["ports"] == ["${NETBUILDER_PORT:-8080}:" + listen.split()[1].rstrip(";")]


def test_kubernetes_matches_compose_and_the_image():
    docs = kubernetes()
    deployment, service, ingress = docs["Deployment"], docs["Service"], docs["Ingress"]
    replicas = re.fullmatch(
        r"\$\{NETBUILDER_REPLICAS:-(\d+)\}", compose()["services"]["app"]["deploy"]["replicas"]
    )
    assert replicas and deployment["spec"]["replicas"] == int(replicas.group(1))
    pod = deployment["spec"]["template"]
    assert (
        deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    )
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]
    assert container["ports"][0]["containerPort"] == image_port()
    probe = container["readinessProbe"]["httpGet"]
    assert (probe["path"], probe["port"]) == (HEALTH, image_port())
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert service["spec"]["ports"][0]["targetPort"] == image_port()
    (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    backend = path["backend"]["service"]
    assert backend == {
        "name": service["metadata"]["name"],
        "port": {"number": service["spec"]["ports"][0]["port"]},
    }
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600


def _env(container: dict) -> dict[str, dict]:
    return {item["name"]: item for item in container.get("env", [])}


def test_compose_points_every_replica_at_its_postgres():
    services = compose()["services"]
    app, db = services["app"], services["postgres"]
    url = make_url(app["environment"]["NETBUILDER_DATABASE_URL"])
    assert url.get_backend_name() == "postgresql"
    assert url.host in services and services[url.host] is db
    assert str(url.port) in db["expose"]
    env = db["environment"]
    assert (url.username, url.password, url.database) == (
        env["POSTGRES_USER"],
        env["POSTGRES_PASSWORD"],
        env["POSTGRES_DB"],
    )
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    # the server the tests run against (tests/postgres.py) is the same major version
    assert db["image"].split(":")[1].split("-")[0] == "15" and "/15/" in str(postgres.BIN)
    assert db["volumes"][0].split(":")[0] in compose()["volumes"]


def test_kubernetes_points_every_replica_at_its_postgres():
    app, db = kubernetes(), kubernetes("netbuilder-postgres")
    (secret,) = [d for d in kubernetes_docs() if d["kind"] == "Secret"]
    (container,) = app["Deployment"]["spec"]["template"]["spec"]["containers"]
    ref = _env(container)["NETBUILDER_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == secret["metadata"]["name"]
    url = make_url(secret["stringData"][ref["key"]])
    service, statefulset = db["Service"], db["StatefulSet"]
    assert url.get_backend_name() == "postgresql"
    assert (url.host, url.port) == (
        service["metadata"]["name"],
        service["spec"]["ports"][0]["port"],
    )
    pod = statefulset["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    (pg,) = pod["spec"]["containers"]
    assert pg["ports"][0]["containerPort"] == service["spec"]["ports"][0]["targetPort"]
    assert pg["image"] == compose()["services"]["postgres"]["image"]
    env = _env(pg)
    values = {}
    for name in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"):
        key = env[name]["valueFrom"]["secretKeyRef"]
        assert key["name"] == secret["metadata"]["name"]
        values[name] = secret["stringData"][key["key"]]
    assert (url.username, url.password, url.database) == (
        values["POSTGRES_USER"],
        values["POSTGRES_PASSWORD"],
        values["POSTGRES_DB"],
    )
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] in {m["name"] for m in pg["volumeMounts"]}
    assert statefulset["spec"]["replicas"] == 1  # one database for every app replica


def test_dockerfile_installs_requirements_pins_with_the_cpu_torch_wheel():
    text = dockerfile()
    assert text.startswith("#") and re.search(r"^FROM python:3\.11-slim$", text, re.M)
    pins = {
        line.split("==")[0]: line
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    (torch,) = re.findall(r"^RUN pip install (torch\S*) --index-url (\S+)$", text, re.M)
    assert torch == (pins["torch"], "https://download.pytorch.org/whl/cpu")
    assert re.search(r"^COPY requirements\.txt \.$", text, re.M)
    assert re.search(r"^RUN pip install -r requirements\.txt$", text, re.M)
    pip_lines = re.findall(r"^RUN pip install (.*)$", text, re.M)
    assert len(pip_lines) == 2  # nothing installed outside requirements.txt's pins
    (user,) = re.findall(r"^USER (\S+)$", text, re.M)
    assert user != "root"
    assert text.index("USER ") < text.index("CMD [")
    (check,) = re.findall(r"^HEALTHCHECK (?:.*\\\n)*.*", text, re.M)
    assert f"127.0.0.1:{image_port()}{HEALTH}" in check
    assert f'"--server.port", "{image_port()}"' in text


# --- two replicas, one stopped mid-run -----------------------------------------------------------


async def _open(port: int, count: int, first: int = 0) -> list[Session]:
    """``count`` sessions through the proxy, each with its own design and an undo history."""
    sessions = [Session(i, port, Result(f"s{i}")) for i in range(first, first + count)]
    for session in sessions:
        await session.connect()
        await session.set_conv1(session.unique_channels(0))
        await session.add_and_delete()  # history: ..., with the Linear, without it
    return sessions


def _served_by(port: int, cookie: str) -> str:
    """The replica nginx sends a plain request with this browser's cookie to."""
    request = urllib.request.Request(f"http://{HOST}:{port}{HEALTH}", headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return reply.headers["X-Upstream"]


async def _undo(session: Session) -> dict | None:
    await session.rerun([Session._state(session._widget("undo"), trigger_value=True)])
    return session._url_design()


async def _failover(proxy_port: int, replicas: list) -> dict[str, list[str]]:
    sessions = await _open(proxy_port, 6)
    while len({s.upstream for s in sessions}) < 2 and len(sessions) < 30:
        sessions += await _open(proxy_port, 1, len(sessions))  # until both replicas have some
    assert not [e for s in sessions for e in s.result.errors]
    for session in sessions:  # its other requests (uploads, downloads) reach its replica too
        assert {
            await asyncio.to_thread(_served_by, proxy_port, session.cookie) for _ in range(3)
        } == {session.upstream}
    stopped = replicas[0]
    gone = [s for s in sessions if s.upstream == f"{HOST}:{stopped.port}"]
    kept = [s for s in sessions if s not in gone]
    assert gone and kept, {s.upstream for s in sessions}
    stopped.stop()
    await asyncio.gather(*(asyncio.wait_for(s.ws.wait_closed(), 30) for s in gone))
    report: dict[str, list[str]] = {"moved": [], "undo": []}
    for session in gone:  # the browser reconnects, with its URL and its cookie
        await session.close()
        first = await session.connect()
        assert session.upstream == f"{HOST}:{replicas[1].port}"
        assert not first.exceptions and first.metrics["Parameters"] == f"{session.params():,}"
        assert session._url_design() == session.normalized()  # the design came back from ?d=
        before = session._url_design()
        assert await _undo(session) == before  # its undo history stayed on the stopped replica
        report["moved"].append(session.result.name)
        await session.set_conv1(session.unique_channels(1))  # and it edits on, on the new replica
        assert not session.result.errors and session._url_design() == session.normalized()
    for session in kept:  # untouched: still connected, undo history intact
        before = session._url_design()
        after = await _undo(session)
        assert len(after["layers"]) == len(before["layers"]) + 1  # the deleted Linear is back
        report["undo"].append(session.result.name)
    for session in sessions:
        await session.close()
    return report


@needs_nginx
def test_a_stopped_replica_moves_its_sessions_to_the_other_keeping_their_designs(tmp_path):
    start = time.monotonic()
    with (
        streamlit_replicas(2, tmp_path / "replica.log") as replicas,
        nginx_proxy([r.port for r in replicas], show_upstream=True) as proxy,
    ):
        report = asyncio.run(_failover(proxy.port, replicas))
        assert proxy.healthy()
    print(
        f"\n{len(report['moved'])} sessions moved to the other replica with their designs, "
        f"undo history lost; {len(report['undo'])} stayed, undo intact "
        f"({time.monotonic() - start:.0f} s)"
    )
