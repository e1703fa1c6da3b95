"""scripts/playground: the classroom page asks for a token, checks the Host header, limits and culls kernels.

Two servers of the script itself run on free loopback ports, side by side: one as started by
default (a token), with one kernel at most and a two-second idle cull; one with ``--open`` and
``--host``. Both get ``--Voila.ip=127.0.0.1``, which the script must pass on without naming the
address twice, and which keeps the ``--host`` one on loopback. The tests skip when Voila is not
installed.
"""

from __future__ import annotations

import os
import pathlib
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Iterator

import pytest

pytest.importorskip("voila.app")  # without Voila there is nothing to test; a script that cannot start it fails

ROOT = pathlib.Path(__file__).parent.parent
SCRIPT = ROOT / "scripts" / "playground"
CLASSROOM = "classroom.iamkit.test"


@dataclass
class Server:
    port: int
    process: subprocess.Popen[str]
    log: pathlib.Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def url(self) -> str:
        found = re.search(r"^http://\S+", self.output(), re.MULTILINE)
        assert found, self.output()
        return found.group(0)

    def get(self, path: str, host: str | None = None) -> tuple[int, str]:
        """GET without following redirects: the status and the Location header."""
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kwargs: object) -> None:
                return None

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                         headers={"Host": f"{host}:{self.port}"} if host else {})
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, ""
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", "")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(tmp: pathlib.Path, name: str, *args: str) -> Server:
    port = _free_port()
    log = tmp / f"{name}.log"
    isolated = {f"JUPYTER_{kind}_DIR": str(tmp / name / kind.lower()) for kind in ("CONFIG", "DATA", "RUNTIME")}
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(SCRIPT), "--port", str(port), "--no-browser", "--Voila.ip=127.0.0.1", *args],
            stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            env={**os.environ, **isolated})
    return Server(port, process, log)


def _wait_until_up(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"scripts/playground exited with status {server.process.returncode}: {server.output()[-800:]}")
        if "running at" in server.output():
            return
        time.sleep(0.2)
    pytest.fail(f"voila did not start within 40 s: {server.output()[-800:]}")


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)  # the script's session: Voila and its kernels
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    tmp = tmp_path_factory.mktemp("playground")
    started = [_start(tmp, "token", "--max-kernels", "1", "--cull-idle", "2"),
               _start(tmp, "open", "--open", "--host", CLASSROOM)]
    try:
        deadline = time.monotonic() + 40
        for server in started:
            _wait_until_up(server, deadline)
        yield started[0], started[1]
    finally:
        for server in started:
            _stop(server)


def _until(status: int, server: Server, path: str, seconds: float) -> float:
    """GET ``path`` until it answers ``status``; returns when, or fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    seen = []
    while time.monotonic() < deadline:
        seen.append(server.get(path)[0])
        if seen[-1] == status:
            return time.monotonic()
        time.sleep(0.3)
    pytest.fail(f"no {status} within {seconds} s: {seen}")


def test_help_documents_the_options() -> None:
    done = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for option in ("--port", "--host NAME", "--open", "--max-kernels N", "--cull-idle SECONDS", "--Voila.ip"):
        assert option in done.stdout


def test_the_page_needs_the_token_printed_in_its_address(servers: tuple[Server, Server]) -> None:
    server, _ = servers
    token = re.search(r"\?token=([0-9a-f]{32,})", server.url)
    assert token, server.url
    status, location = server.get("/")
    assert (status, location) == (302, "/login?next=%2F")  # to the token form: no page, no kernel
    assert server.get("/?token=wrong")[0] == 302
    assert "only accepts one value" not in server.output()  # --Voila.ip=… passed on once


def test_a_request_for_another_host_name_is_refused(servers: tuple[Server, Server]) -> None:
    server, opened = servers
    token = server.url.split("?", 1)[1]
    assert server.get(f"/?{token}", host="rebinding.example")[0] == 403
    assert server.get("/login", host="rebinding.example")[0] == 403
    assert server.get("/login", host="localhost")[0] == 200
    assert opened.get("/login", host="rebinding.example")[0] == 403
    assert "Blocking request with non-local 'Host' rebinding.example" in server.output()


def test_kernels_are_limited_and_idle_ones_culled(servers: tuple[Server, Server]) -> None:
    server, _ = servers
    page = "/?" + server.url.split("?", 1)[1]
    _until(200, server, page, 30)  # the one kernel allowed (once an earlier one is culled)
    status, _ = server.get(page)
    assert status == 503  # a second page would be a second kernel
    started = time.monotonic()
    served = _until(200, server, page, 20)  # the idle kernel, never connected, is culled
    assert served - started >= 1.5
    assert "Culling kernels with idle durations > 2 seconds at 2 second intervals" in server.output()


def test_open_mode_serves_without_a_token_for_the_named_host(servers: tuple[Server, Server]) -> None:
    _, opened = servers
    assert "no token (--open)" in opened.output()
    assert "token=" not in opened.url and opened.url.startswith(f"http://{CLASSROOM}:{opened.port}/")
    assert opened.get("/", host=CLASSROOM)[0] == 200
