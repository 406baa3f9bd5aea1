"""Load: N concurrent sessions editing their own designs against one ``streamlit run`` server.

Each session is a real websocket session on loopback, speaking Streamlit's own browser protocol
(``BackMsg`` / ``ForwardMsg`` protobufs over ``/_stcore/stream``, as the frontend does): it
opens the page, then repeats a cycle of edits as a person would make them by clicking: open
conv1's card and set its ``out_channels`` to a value only this session uses, add a Linear layer
from the palette, open its card and delete it, change the seed, undo. After every edit it keeps
its own copy of the design (made with ``builder.edits``, as the app makes it) and checks what
the server rendered against it: the Parameters metric, and the design the app put in the URL.
The page below the sidebar is an ``st.fragment``: as the browser does, a click on a widget it
draws asks for its run alone, and such a run's elements update the page's.

Edit-to-render latency is the time from sending the edit until the rerun that shows the
expected value has finished (the ``script_finished`` message). At the end each session checks
that the design in its URL is exactly its own (its unique ``out_channels``, no one else's).
The server's memory is sampled from ``/proc`` (RSS of its process tree; VmHWM at the end).

With ``--hostile K``, K more sessions keep opening the page with hostile share links and sending
garbage frames meanwhile. Links that must be refused (damaged, zip bomb, deep nesting, 200 KB,
a JSON string naming ``/dev/zero``) must show an error box (a 1 MB query string Streamlit itself
ignores); hostile designs that load (a Code tab past the code generator's bounds, 150 M
activations with no parameters, a 1023×1023 'same' convolution on 3×1024×1024) are opened, then
their tabs (Code, Signal, Train) are selected through the tab bar's widget state, as a click
sends it; each must render without an exception. The editing sessions must not notice.

With ``--replicas N`` the sessions go through nginx (deploy/nginx.conf, the deployment's own
proxy config) to N ``streamlit run`` replicas; each session first fetches ``/_stcore/health`` as
the browser does and keeps the ``_streamlit_xsrf`` cookie it sets, which nginx balances on. The
figures are then for all replicas together, and the report says how many sessions each got.

With ``--idle N`` a memory phase runs first: the server's RSS before, after N more sessions have
opened the page and sit idle, after each has made one cycle of edits (an undo history of a few
designs), and after they have all closed; ``--sessions 0`` runs that phase alone.

Run: python bench/bench_load.py [--sessions 30] [--minutes 3] [--think 2-5] [--hostile 3]
        [--replicas 2] [--idle 30]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import random
import sys
import time
import urllib.parse
import urllib.request
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

import builder  # noqa: E402
from builder import edits  # noqa: E402
from builder.presets import preset  # noqa: E402
from builder.share import decode_design, pack  # noqa: E402
from tests.server import (  # noqa: E402
    ServerStartError,
    nginx_proxy,
    streamlit_replicas,
    streamlit_server,
)

EDIT_TIMEOUT = 60.0


# --- server memory -----------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):  # the process has gone
                todo += [int(c) for c in (task / "children").read_text().split()]
    return pids


def _status_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _trees(pids: list[int]) -> list[int]:
    return [p for pid in pids for p in _tree(pid)]


def rss_kb(pids: list[int]) -> int:
    """RSS of the servers' process trees now, in KiB."""
    return sum(_status_kb(p, "VmRSS") for p in _trees(pids))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the servers' process trees so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in _trees(pids):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


class MemorySampler:
    """Peak RSS of the servers' process trees (all replicas together), sampled every 0.25 s."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak_kb = 0
        self.samples = 0
        self.hwm = 0
        self.cpu_start = (0.0, 0.0, 0.0)
        self.cpu = (0.0, 0.0, 0.0)  # server CPU s, client CPU s, wall s
        self.hostile: Counter[str] = Counter()  # what the hostile visits got
        self.hostile_seconds: defaultdict[str, float] = defaultdict(float)  # slowest visit
        self.healthy = False
        self.base_kb = 0  # RSS once warm, before the load run
        self.idle_report: list[str] = []
        self.upstreams: Counter[str] = Counter()  # sessions per replica, behind the proxy

    def sample(self) -> int:
        rss = rss_kb(self.pids)
        self.peak_kb = max(self.peak_kb, rss)
        self.samples += 1
        return rss

    def hwm_kb(self) -> int:
        return sum(_status_kb(p, "VmHWM") for p in _trees(self.pids))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)


# --- one session ---------------------------------------------------------------------------


@dataclass
class Run:
    """What one rerun rendered."""

    widgets: dict[str, str] = field(default_factory=dict)  # user key -> element id
    fragments: dict[str, str] = field(default_factory=dict)  # element id -> its fragment's id
    labels: dict[str, str] = field(default_factory=dict)  # user key -> expander label
    metrics: dict[str, str] = field(default_factory=dict)
    query: str | None = None
    exceptions: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    status: int | None = None
    rendered_at: float | None = None  # when the Parameters metric arrived

    def update(self, earlier: Run) -> None:
        """A fragment's run redraws only its part: keep the rest of the page from ``earlier``."""
        self.widgets = {**earlier.widgets, **self.widgets}
        self.fragments = {**earlier.fragments, **self.fragments}
        self.labels = {**earlier.labels, **self.labels}
        self.metrics = {**earlier.metrics, **self.metrics}
        self.query = self.query if self.query is not None else earlier.query


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    render_latencies: list[float] = field(default_factory=list)
    kinds: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    intact: bool = False
    final: str = ""


def _user_key(element_id: str) -> str | None:
    parts = element_id.split("-", 2)  # "$$ID-<hash>-<user key>"
    return parts[2] if len(parts) == 3 and parts[0] == "$$ID" else None


def health_cookie(port: int) -> str:
    """What the browser's first request, ``/_stcore/health``, sets: the ``_streamlit_xsrf``
    cookie (``name=value``), which the browser then sends with every request; "" if none."""
    url = f"http://127.0.0.1:{port}/_stcore/health"
    with urllib.request.urlopen(url, timeout=EDIT_TIMEOUT) as reply:
        cookie = reply.headers.get("Set-Cookie", "")
    return cookie.split(";", 1)[0]


class Session:
    def __init__(self, index: int, port: int, result: Result) -> None:
        self.index = index
        self.port = port
        self.result = result
        self.design = preset()
        self.query = ""
        self.last = Run()
        self.ws: Any = None
        self.inbox: asyncio.Queue[ForwardMsg] = asyncio.Queue()
        self.cookie: str | None = None
        self.upstream = ""  # the replica nginx chose (its X-Upstream header), behind a proxy
        self._reading: asyncio.Task | None = None

    # protocol ----------------------------------------------------------------------------

    async def connect(self) -> Run:
        """Open the websocket and the page, as a browser (re)loading the session's URL does:
        the health check (once, for the cookie), the websocket with that cookie, then the first
        rerun with the URL's query string (``?d=`` with the design, after the first edit)."""
        if self.cookie is None:
            self.cookie = await asyncio.to_thread(health_cookie, self.port)
        self.ws = await connect(
            f"ws://127.0.0.1:{self.port}/_stcore/stream",
            subprotocols=["streamlit"],
            origin=f"http://127.0.0.1:{self.port}",
            max_size=None,
            additional_headers={"Cookie": self.cookie} if self.cookie else {},
        )
        # the replica nginx chose last (it lists each one it tried: a stopped one, then the next)
        self.upstream = self.ws.response.headers.get("X-Upstream", "").split(", ")[-1]
        self.inbox = asyncio.Queue()
        self._reading = asyncio.create_task(self._reader())
        return await self.rerun([])

    async def close(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
        if self.ws is not None:
            await self.ws.close()

    async def _reader(self) -> None:
        with contextlib.suppress(ConnectionClosed):  # a rerun waiting on it times out
            async for raw in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                await self.inbox.put(msg)

    async def rerun(self, states: list[WidgetState]) -> Run:
        """Send one rerun request (what a click sends) and collect the rerun until it finishes.

        As the browser does, a click on a widget drawn by a fragment asks for that fragment's
        run alone (the app may still rerun the whole page)."""
        back = BackMsg()
        fragments = {self.last.fragments.get(state.id, "") for state in states}
        if len(fragments) == 1:
            back.rerun_script.fragment_id = fragments.pop()
        back.rerun_script.query_string = self.query
        back.rerun_script.page_script_hash = ""
        back.rerun_script.widget_states.widgets.extend(states)
        run = Run()
        await self.ws.send(back.SerializeToString())
        while run.status is None:
            msg = await asyncio.wait_for(self.inbox.get(), EDIT_TIMEOUT)
            kind = msg.WhichOneof("type")
            if kind == "delta":
                self._delta(msg.delta, run)
            elif kind == "page_info_changed":
                run.query = msg.page_info_changed.query_string
                self.query = run.query
            elif kind == "script_finished":
                if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # another rerun follows (on_change="rerun", st.rerun)
                run.status = msg.script_finished
        if run.status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            run.update(self.last)
        self.last = run
        return run

    def _delta(self, delta: Any, run: Run) -> None:
        if delta.WhichOneof("type") == "add_block":
            block = delta.add_block
            if block.WhichOneof("type") == "popover" and block.popover.id:
                key = _user_key(block.popover.id)
                if key:
                    run.widgets[key] = block.popover.id
                    run.fragments[block.popover.id] = delta.fragment_id
            if block.WhichOneof("type") == "expandable" and block.expandable.id:
                key = _user_key(block.expandable.id)
                if key:
                    run.widgets[key] = block.expandable.id
                    run.labels[key] = block.expandable.label
            return
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind is None:
            return
        body = getattr(element, kind)
        if kind == "exception":
            run.exceptions.append(f"{body.type}: {body.message}"[:300])
        elif kind == "alert" and body.format == body.ERROR:
            run.alerts.append(body.body[:300])
        elif kind == "metric":
            run.metrics[body.label] = body.body
            if body.label == "Parameters":
                run.rendered_at = time.perf_counter()
        element_id = getattr(body, "id", "")
        key = _user_key(element_id) if element_id else None
        if key:
            run.widgets[key] = element_id
            run.fragments[element_id] = delta.fragment_id
            if kind == "button" and key.startswith("head:"):
                run.labels["card:" + key.split(":", 1)[1]] = body.label

    # edits -------------------------------------------------------------------------------

    def _widget(self, key: str) -> str:
        element_id = self.last.widgets.get(key)
        if element_id is None:
            raise LookupError(f"widget {key!r} is not on the page")
        return element_id

    @staticmethod
    def _state(element_id: str, **value: Any) -> WidgetState:
        state = WidgetState(id=element_id)
        for name, v in value.items():
            setattr(state, name, v)
        return state

    def _widget_like(self, prefix: str) -> str:
        """The one widget whose key starts with ``prefix`` (the palette's rows change keys)."""
        found = [k for k in self.last.widgets if k.startswith(prefix)]
        if len(found) != 1:
            raise LookupError(f"{len(found)} widgets like {prefix!r} on the page")
        return self.last.widgets[found[0]]

    @staticmethod
    def _pick(element_id: str, option: str) -> WidgetState:
        """A click on one pill of a row (the palette's layer types)."""
        state = WidgetState(id=element_id)
        state.string_array_value.data.append(option)
        return state

    async def edit(self, kind: str, states: list[WidgetState], expect: dict[str, Any]) -> None:
        """One timed edit; ``expect`` says what the rerun must render."""
        start = time.perf_counter()
        run = await self.rerun(states)
        took = time.perf_counter() - start
        problems = list(run.exceptions)
        problems += [f"error message: {a}" for a in run.alerts]
        if run.status not in (
            ForwardMsg.FINISHED_SUCCESSFULLY,
            ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
        ):
            problems.append(f"script finished with status {run.status}")
        want = expect.get("params")
        if want is not None and run.metrics.get("Parameters") != f"{want:,}":
            problems.append(f"Parameters shows {run.metrics.get('Parameters')}, expected {want:,}")
        if expect.get("design"):
            shown = self._url_design()
            if shown != self.normalized():
                problems.append("the design in the URL is not this session's design")
        widget = expect.get("widget")
        if widget is not None and widget not in run.widgets:
            problems.append(f"widget {widget!r} did not render")
        if problems:
            self.result.errors.append(f"{kind}: " + "; ".join(problems))
        self.result.latencies.append(took)
        self.result.kinds.setdefault(kind, []).append(took)
        if run.rendered_at is not None:
            self.result.render_latencies.append(run.rendered_at - start)

    def _url_design(self) -> dict[str, Any] | None:
        packed = urllib.parse.parse_qs(self.query).get("d", [None])[0]
        try:
            return decode_design(packed) if packed else None
        except builder.SpecError:
            return None

    def normalized(self) -> dict[str, Any]:
        return builder.load_spec(self.design).to_dict()

    def params(self) -> int:
        return builder.analyze(self.design).total_params

    def unique_channels(self, cycle: int) -> int:
        return 100 + self.index + (40 * (cycle % 2) if cycle >= 0 else 0)

    async def open_card(self, uid: int | str, probe: str) -> None:
        """Open a layer's card by clicking its header, unless ``probe`` (one of its widgets)
        already shows that it is open."""
        if probe in self.last.widgets:
            return
        if f"head:{uid}" in self.last.widgets:  # the header is a toggle button
            state = self._state(self._widget(f"head:{uid}"), trigger_value=True)
        else:  # an st.expander keyed card:<uid>
            state = self._state(self._widget(f"card:{uid}"), bool_value=True)
        await self.edit("open card", [state], {"widget": probe})

    def _cards(self) -> set[str]:
        return {k.split(":")[1] for k in self.last.widgets if k.startswith(("head:", "card:"))}

    async def set_conv1(self, channels: int) -> None:
        await self.open_card(0, "w:0:out_channels")
        self.design = edits.set_arg(self.design, 0, "out_channels", channels)
        await self.edit(
            "set out_channels",
            [self._state(self._widget("w:0:out_channels"), double_value=float(channels))],
            {"params": self.params(), "design": True},
        )

    async def add_and_delete(self) -> None:
        before = self._cards()
        self.design = edits.insert_layer(
            self.design, len(self.design["layers"]), edits.new_layer("Linear")
        )
        await self.edit(
            "add layer",
            [self._pick(self._widget_like("palette:linear:"), "Linear")],
            {"params": self.params(), "design": True},
        )
        new = sorted(self._cards() - before)
        if len(new) != 1:
            self.result.errors.append(f"add layer: expected one new card, got {new}")
            return
        uid = new[0]
        await self.open_card(uid, f"del:{uid}")
        self.design = edits.delete_layer(self.design, len(self.design["layers"]) - 1)
        await self.edit(
            "delete layer",
            [self._state(self._widget(f"del:{uid}"), trigger_value=True)],
            {"params": self.params(), "design": True},
        )

    async def seed_and_undo(self, cycle: int) -> None:
        previous = self.design
        self.design = {**self.design, "seed": 1000 * self.index + cycle + 1}  # never the same
        await self.edit(
            "set seed",
            [self._state(self._widget("w:seed"), double_value=float(self.design["seed"]))],
            {"params": self.params(), "design": True},
        )
        self.design = previous
        await self.edit(
            "undo",
            [self._state(self._widget("undo"), trigger_value=True)],
            {"params": self.params(), "design": True},
        )

    def steps(self, cycle: int) -> list[Any]:
        """One cycle of edits, each a coroutine function."""
        return [
            lambda: self.set_conv1(self.unique_channels(cycle)),
            self.add_and_delete,
            lambda: self.seed_and_undo(cycle),
        ]

    async def think(self, think: tuple[float, float], rng: random.Random) -> None:
        await asyncio.sleep(rng.uniform(*think))

    async def main(self, deadline: float, think: tuple[float, float], stagger: float) -> None:
        rng = random.Random(self.index)
        await asyncio.sleep(stagger)
        try:
            try:
                first = await self.connect()  # open the page
                if first.exceptions or first.metrics.get("Parameters") != f"{self.params():,}":
                    self.result.errors.append(f"page load: {first.exceptions or first.metrics}")
                cycle = 0
                while time.monotonic() < deadline:
                    for step in self.steps(cycle):
                        if time.monotonic() >= deadline:
                            break
                        await self.think(think, rng)
                        await step()
                    cycle += 1
                await self.set_conv1(self.unique_channels(-1))  # the final, unique value
                self.check_final()
            finally:
                await self.close()
        except Exception as exc:  # a broken session is counted, the others go on
            self.result.errors.append(f"session failed: {type(exc).__name__}: {exc}"[:300])

    def check_final(self) -> None:
        shown = self._url_design()
        channels = shown["layers"][0].get("out_channels") if shown else None
        own = self.unique_channels(-1)
        label = self.last.labels.get("card:0", "")
        self.result.intact = (
            shown == self.normalized()
            and channels == own
            and f"→ ({own}," in label
            and self.last.metrics.get("Parameters") == f"{self.params():,}"
        )
        self.result.final = (
            f"out_channels {channels} in its URL, card 1 shows {label.split('→')[-1].strip()!r} "
            f"(own {own}), "
            f"{len(shown['layers']) if shown else 0} layers, "
            f"Parameters {self.last.metrics.get('Parameters')} (expected {self.params():,})"
        )


# --- hostile sessions ------------------------------------------------------------------------


def _pack(text: str) -> str:
    """Any text packed as a share link packs a design (``1`` + base64url of zlib)."""
    return "1" + base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode().rstrip("=")


def _design(shape: list[int], layers: list[dict[str, Any]]) -> str:
    return pack({"input_shape": shape, "layers": layers})


@dataclass(frozen=True)
class Hostile:
    """A hostile link: the packed ``?d=``, the tabs the visit then opens, and what it must get:
    ``refused`` (an error box on the page), ``loads`` (then its tabs must cope) or ``ignored``
    (Streamlit drops a query string over 524,288 characters: the default design, no message)."""

    link: str
    tabs: tuple[str, ...] = ()
    expect: str = "refused"


HOSTILE_LINKS = {
    "damaged link": Hostile("1garbage!!"),
    "zip bomb link": Hostile(_pack(" " * 50_000_000)),
    "100k nested lists link": Hostile(_pack("[" * 100_000 + "]" * 100_000)),
    "200 KB link": Hostile("1" + "A" * 200_000),
    "1 MB link": Hostile("1" + "A" * 1_000_000, expect="ignored"),
    "injection link": Hostile(
        _pack('{"input_shape": [3, 8, 8], "layers": [{"type": "__import__(\'os\')"}]}')
    ),
    "JSON string /dev/zero link": Hostile(pack("/dev/zero")),
    "Code past codegen bounds": Hostile(
        _design(
            [1, 3, 3],
            [
                {"type": "AdaptiveAvgPool2d", "output_size": [2**31 - 1, 2**31 - 1]},
                {"type": "Flatten"},
                {"type": "Linear", "out_features": 10},
            ],
        ),
        ("Code",),
        expect="loads",
    ),
    "150M activations, no parameters": Hostile(  # 48 layers of 3·1024·1024 elements
        _design(
            [3, 1024, 1024],
            [{"type": "MaxPool2d", "kernel_size": 1, "stride": 1}, {"type": "Identity"}] * 24,
        ),
        ("Signal", "Train"),
        expect="loads",
    ),
    "Conv2d kernel 1023 'same' on 3x1024x1024": Hostile(
        _design(
            [3, 1024, 1024],
            [{"type": "Conv2d", "out_channels": 8, "kernel_size": 1023, "padding": "same"}],
        ),
        ("Signal", "Train"),
        expect="loads",
    ),
}
_SEVERITY = {"shown": 0, "notice": 1, "error box": 2}


async def _hostile_rerun(ws: Any, query: str, states: list[WidgetState]) -> tuple[str, str | None]:
    """One rerun of a hostile visit: the worst it showed (``shown``, ``notice`` for a warning or
    info box, ``error box``) and the element id of the tab bar. An exception element raises."""
    back = BackMsg()
    back.rerun_script.query_string = query
    back.rerun_script.page_script_hash = ""
    back.rerun_script.widget_states.widgets.extend(states)
    await ws.send(back.SerializeToString())
    shown, tabs_id = "shown", None
    while True:
        msg = ForwardMsg()
        msg.ParseFromString(await asyncio.wait_for(ws.recv(), EDIT_TIMEOUT))
        kind = msg.WhichOneof("type")
        early = msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN
        if kind == "script_finished" and not early:  # an early finish: another rerun follows
            return shown, tabs_id
        if kind != "delta":
            continue
        delta = msg.delta
        if delta.WhichOneof("type") == "add_block":
            if delta.add_block.WhichOneof("type") == "tab_container":
                tabs_id = delta.add_block.tab_container.id or tabs_id
        elif delta.WhichOneof("type") == "new_element":
            element = delta.new_element
            if element.WhichOneof("type") == "exception":
                raise RuntimeError(element.exception.message[:200])
            if element.WhichOneof("type") == "alert":
                got = "error box" if element.alert.format == element.alert.ERROR else "notice"
                shown = max(shown, got, key=_SEVERITY.__getitem__)


async def _hostile_visit(ws: Any, name: str, memory: MemorySampler) -> None:
    """Open the page with one hostile link, then its tabs; count what each showed."""
    hostile = HOSTILE_LINKS[name]
    query = "d=" + hostile.link
    start = time.perf_counter()
    shown, tabs_id = await _hostile_rerun(ws, query, [])
    memory.hostile_seconds[name] = max(memory.hostile_seconds[name], time.perf_counter() - start)
    if hostile.expect != "loads":
        if shown == "error box":
            memory.hostile[f"{name}: error box"] += 1
        else:
            ignored = hostile.expect == "ignored"
            memory.hostile[
                f"{name}: " + ("ignored by Streamlit" if ignored else "NOT REFUSED")
            ] += 1
        return
    memory.hostile[f"{name}: {shown}"] += 1
    for tab in hostile.tabs:
        if tabs_id is None:
            memory.hostile[f"error: {name} / {tab}: no tab bar on the page"] += 1
            return
        state = WidgetState(id=tabs_id, string_value=tab)
        start = time.perf_counter()
        shown, _ = await _hostile_rerun(ws, query, [state])
        took = time.perf_counter() - start
        key = f"{name} / {tab}"
        memory.hostile_seconds[key] = max(memory.hostile_seconds[key], took)
        memory.hostile[f"{key}: {shown}"] += 1


async def hostile_session(port: int, seed: int, deadline: float, memory: MemorySampler) -> None:
    """Opens the page with hostile share links (then the tabs their designs are hostile to)
    and sends garbage frames, until the deadline.

    A link that must be refused must show an error box; a hostile design that loads must render
    its tabs (a notice or an error box inside them is fine); a garbage frame must get the
    connection closed. An exception element, a time-out or a broken connection is an error.
    """
    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    origin = f"http://127.0.0.1:{port}"
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        await asyncio.sleep(rng.uniform(1, 3))
        name = rng.choice([*HOSTILE_LINKS, "garbage frame"])
        try:
            async with connect(url, subprotocols=["streamlit"], origin=origin, max_size=None) as ws:
                if name == "garbage frame":
                    await ws.send(os.urandom(2000))
                    await asyncio.wait_for(ws.wait_closed(), 30)
                    memory.hostile["garbage frame: refused"] += 1
                    continue
                await _hostile_visit(ws, name, memory)
        except Exception as exc:
            memory.hostile[f"error: {name}: {type(exc).__name__}"] += 1


# --- the run ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def idle_phase(port: int, pids: list[int], count: int) -> list[str]:
    """RSS growth per session: ``count`` sessions open the page and sit idle, then each makes
    one cycle of edits (its undo history holds a few designs), then they all close. Lines for
    the report."""

    def mb(kb: int) -> str:
        return f"{kb / 1024:,.0f} MB"

    def per(kb: int) -> str:
        return f"{kb / 1024 / count:+.2f} MB per session"

    await asyncio.sleep(2)
    base = rss_kb(pids)
    results = [Result(f"idle{i:02d}") for i in range(count)]
    sessions = [Session(i, port, r) for i, r in enumerate(results)]
    for batch in range(0, count, 10):  # ten pages at a time, as a class arriving
        await asyncio.gather(*(s.connect() for s in sessions[batch : batch + 10]))
    await asyncio.sleep(3)
    idle = rss_kb(pids)
    await asyncio.gather(*(_one_cycle(s) for s in sessions))
    await asyncio.sleep(3)
    active = rss_kb(pids)
    await asyncio.gather(*(s.close() for s in sessions))
    await asyncio.sleep(5)
    closed = rss_kb(pids)
    errors = [e for r in results for e in r.errors]
    return [
        f"memory per session ({count} sessions, RSS of all servers):",
        f"  warm server {mb(base)}; {count} idle sessions (page open) {mb(idle)}: "
        f"{per(idle - base)}",
        f"  after one cycle of edits each (undo history) {mb(active)}: {per(active - base)}",
        f"  5 s after they all closed {mb(closed)}: {per(closed - base)}",
        f"  errors in these sessions: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""),
    ]


async def _one_cycle(session: Session) -> None:
    try:
        for step in session.steps(0):
            await step()
    except Exception as exc:
        session.result.errors.append(f"session failed: {type(exc).__name__}: {exc}"[:300])


async def drive(
    port: int, replica_ports: list[int], pids: list[int], args: argparse.Namespace
) -> tuple[list[Result], MemorySampler]:
    memory = MemorySampler(pids)
    stop = asyncio.Event()
    sampler = asyncio.create_task(memory.run(stop))
    # warm-up, on each replica directly: the first run imports torch; not counted
    for i, replica in enumerate(replica_ports):
        await Session(10_000 + i, replica, Result("warm-up")).main(time.monotonic(), (0, 0), 0)
    if args.idle:
        memory.idle_report = await idle_phase(port, pids, args.idle)
    memory.base_kb = rss_kb(pids)
    memory.cpu_start = (cpu_seconds(pids), time.process_time(), time.monotonic())
    results = [Result(f"s{i:02d}") for i in range(args.sessions)]
    deadline = time.monotonic() + 60 * args.minutes
    think = tuple(float(x) for x in args.think.split("-"))
    sessions = [Session(i, port, r) for i, r in enumerate(results)]
    stagger = [args.ramp * i / max(1, args.sessions) for i in range(args.sessions)]
    hostile = [hostile_session(port, i, deadline, memory) for i in range(args.hostile)]
    await asyncio.gather(
        *(s.main(deadline, think, d) for s, d in zip(sessions, stagger)),
        *hostile,
    )
    memory.upstreams = Counter(s.upstream for s in sessions if s.upstream)
    url = f"http://127.0.0.1:{port}/_stcore/health"
    memory.healthy = urllib.request.urlopen(url, timeout=10).read() == b"ok"
    stop.set()
    await sampler
    memory.sample()
    memory.hwm = memory.hwm_kb()
    server0, client0, wall0 = memory.cpu_start
    memory.cpu = (
        cpu_seconds(pids) - server0,
        time.process_time() - client0,
        time.monotonic() - wall0,
    )
    return results, memory


def report(results: list[Result], memory: MemorySampler, args: argparse.Namespace, took: float):
    latencies = [x for r in results for x in r.latencies]
    renders = [x for r in results for x in r.render_latencies]
    errors = [(r.name, e) for r in results for e in r.errors]
    intact = sum(r.intact for r in results)
    print(
        f"\n=== NetBuilder load: {args.sessions} sessions, {took / 60:.1f} min, "
        f"{f'{args.replicas} replicas behind nginx, ' if args.replicas else ''}"
        f"think {args.think} s{', ' + ' '.join(args.server_option) if args.server_option else ''}"
        " ==="
    )
    for line in memory.idle_report:
        print(line)
    if memory.upstreams:
        shares = ", ".join(f"{n} on {addr}" for addr, n in sorted(memory.upstreams.items()))
        print(f"sessions per replica (nginx's X-Upstream): {shares}")
    print(f"edits: {len(latencies):,} ({len(latencies) / took:.1f}/s)   errors: {len(errors)}")
    print(
        "edit-to-render latency (send -> rerun finished): "
        f"p50 {1000 * pct(latencies, 50):.0f} ms, p95 {1000 * pct(latencies, 95):.0f} ms, "
        f"max {1000 * max(latencies, default=float('nan')):.0f} ms"
    )
    print(
        "  (send -> Parameters metric arrives: "
        f"p50 {1000 * pct(renders, 50):.0f} ms, p95 {1000 * pct(renders, 95):.0f} ms)"
    )
    kinds: dict[str, list[float]] = {}
    for r in results:
        for kind, values in r.kinds.items():
            kinds.setdefault(kind, []).extend(values)
    for kind, values in sorted(kinds.items()):
        print(
            f"  {kind:16} {len(values):6,}  p50 {1000 * pct(values, 50):5.0f} ms  "
            f"p95 {1000 * pct(values, 95):5.0f} ms"
        )
    print(
        f"server memory: peak RSS {memory.peak_kb / 1024:,.0f} MB "
        f"(VmHWM {memory.hwm / 1024:,.0f} MB, {memory.samples} samples); "
        f"{(memory.peak_kb - memory.base_kb) / 1024:+,.0f} MB over the warm server's "
        f"{memory.base_kb / 1024:,.0f} MB"
    )
    server_cpu, client_cpu, wall = memory.cpu
    print(
        f"server CPU: {server_cpu:.1f} s in {wall:.0f} s ({100 * server_cpu / wall:.0f}% of one "
        f"core), {1000 * server_cpu / max(1, len(latencies)):.0f} ms per edit"
        f"{' (and per hostile visit)' if args.hostile else ''}; "
        f"this client's CPU: {client_cpu:.1f} s"
    )
    if args.hostile:
        print(f"hostile visits ({args.hostile} sessions):")
        for key, count in sorted(memory.hostile.items()):
            print(f"  {count:5,}  {key}")
        slowest = ", ".join(
            f"{name} {seconds:.1f} s" for name, seconds in sorted(memory.hostile_seconds.items())
        )
        print(f"  slowest rerun per link / tab: {slowest}")
    print(f"server healthy at the end: {memory.healthy}")
    print(f"sessions with their own design intact at the end: {intact}/{len(results)}")
    for r in results:
        flag = "ok " if r.intact and not r.errors else "BAD"
        print(f"  {flag} {r.name}: {len(r.latencies)} edits, {len(r.errors)} errors, {r.final}")
    for name, error in errors[:20]:
        print(f"  error {name}: {error}")
    hostile_errors = sum(
        n for k, n in memory.hostile.items() if k.startswith("error") or "NOT REFUSED" in k
    )
    return not errors and not hostile_errors and memory.healthy and intact == len(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--think", default="2-5", help="seconds between edits, 'low-high'")
    parser.add_argument(
        "--hostile", type=int, default=0, help="extra sessions sending hostile links and frames"
    )
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds to start all sessions")
    parser.add_argument("--log", default="/tmp/netbuilder_load_server.log")
    parser.add_argument(
        "--server-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra streamlit option for an experiment, e.g. runner.postScriptGC=false",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=0,
        help="N streamlit replicas behind nginx (deploy/nginx.conf); 0: one server, no proxy",
    )
    parser.add_argument(
        "--idle", type=int, default=0, help="first measure RSS per idle / edited session with N"
    )
    args = parser.parse_args()
    if not 0 <= args.sessions <= 200 or not 0 < args.minutes <= 60:
        raise SystemExit("--sessions 0..200 and --minutes up to 60")
    if not 0 <= args.replicas <= 16 or not 0 <= args.idle <= 200 or not args.sessions + args.idle:
        raise SystemExit("--replicas 0..16, --idle 0..200, and some sessions or idle sessions")
    try:
        with contextlib.ExitStack() as stack:
            if args.replicas:
                servers = stack.enter_context(
                    streamlit_replicas(args.replicas, Path(args.log), args.server_option)
                )
                proxy = stack.enter_context(
                    nginx_proxy([s.port for s in servers], show_upstream=True)
                )
                port = proxy.port
            else:
                servers = [
                    stack.enter_context(streamlit_server(Path(args.log), args.server_option))
                ]
                port = servers[0].port
            start = time.monotonic()
            ports, pids = [s.port for s in servers], [s.pid for s in servers]
            results, memory = asyncio.run(drive(port, ports, pids, args))
    except ServerStartError as exc:
        raise SystemExit(str(exc)) from None
    ok = report(results, memory, args, time.monotonic() - start)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
