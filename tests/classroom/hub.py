"""A classroom hub under test: started on loopback, driven through its REST API, stopped without leftovers.

Learners' kernels are driven as JupyterLab drives them: through the hub's proxy, the single-user
server's REST API and the kernel's WebSocket, with the ``classroom-admin`` service's token.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

import psutil
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLASSROOM = ROOT / "classroom"
HOST = "127.0.0.1"


class HubError(AssertionError):
    """The hub or a learner's server did not do what the test needed."""


def free_ports(count: int) -> int:
    """A port P such that P … P+count-1 are all free on loopback (the hub, its API, the proxy's API)."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            base = probe.getsockname()[1]
        if base + count > 65535:
            continue
        taken = False
        for port in range(base, base + count):
            with socket.socket() as probe:
                try:
                    probe.bind((HOST, port))
                except OSError:
                    taken = True
                    break
        if not taken:
            return base
    raise HubError(f"found no {count} consecutive free ports on {HOST}")


def port_listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) == 0


@dataclass
class Cell:
    """What one executed cell produced."""

    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def text(self) -> str:
        parts = []
        for output in self.outputs:
            parts.append(output.get("text") or output.get("data", {}).get("text/plain", ""))
        return "".join(parts)


class Kernel:
    """A kernel in a learner's server, reached through the proxy over its WebSocket."""

    def __init__(self, hub: Hub, user: str, kernel_id: str, connection: Any):
        self.hub, self.user, self.id, self.connection = hub, user, kernel_id, connection
        self.session = uuid.uuid4().hex

    async def execute(self, code: str, timeout: float = 180) -> Cell:
        msg_id = uuid.uuid4().hex
        await self.connection.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": self.user, "session": self.session, "msg_type": "execute_request",
                       "version": "5.3", "date": datetime.datetime.now(datetime.timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        cell, idle, replied = Cell(), False, False
        deadline = time.monotonic() + timeout
        while not (idle and replied):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HubError(f"{self.user}'s kernel did not finish within {timeout} s:\n{code[:300]}")
            raw = await asyncio.wait_for(self.connection.read_message(), remaining)
            if raw is None:
                raise HubError(f"{self.user}'s kernel connection closed while running:\n{code[:300]}")
            message = json.loads(raw)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "execute_reply":
                replied = True
            elif kind == "stream":
                cell.outputs.append({"output_type": "stream", "name": content["name"], "text": content["text"]})
            elif kind in ("execute_result", "display_data"):
                cell.outputs.append({"output_type": kind, "data": content["data"], "metadata": content.get("metadata", {}),
                                     **({"execution_count": content["execution_count"]} if kind == "execute_result" else {})})
            elif kind == "error":
                cell.error = f"{content['ename']}: {content['evalue']}"
                cell.outputs.append({"output_type": "error", "ename": content["ename"], "evalue": content["evalue"],
                                     "traceback": content["traceback"]})
        return cell

    async def close(self) -> None:
        self.connection.close()
        self.hub.request("DELETE", f"/user/{self.user}/api/kernels/{self.id}")


class Hub:
    """``jupyterhub -f classroom/jupyterhub_config.py`` on loopback, in a state folder of its own."""

    def __init__(self, state: pathlib.Path, log: pathlib.Path, auth: str = "shared-password"):
        self.state, self.log_path = state, log
        self.port = free_ports(3)
        self.token = secrets.token_hex(24)
        self.url = f"http://{HOST}:{self.port}"
        self.env = {
            **os.environ,
            "PATH": f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "IAMKIT_CLASSROOM_DIR": str(state), "IAMKIT_CLASSROOM_IP": HOST, "IAMKIT_CLASSROOM_PORT": str(self.port),
            "IAMKIT_CLASSROOM_AUTH": auth, "IAMKIT_CLASSROOM_PASSWORD": secrets.token_hex(12),
            "IAMKIT_CLASSROOM_API_TOKEN": self.token, "IAMKIT_CLASSROOM_ADMINS": "instructor",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log: Any = None
        self.pids: set[int] = set()  # every process of the hub's tree seen while it ran

    # -- life cycle -----------------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> None:
        proxy = CLASSROOM / "node_modules" / ".bin" / "configurable-http-proxy"
        if not proxy.exists():
            raise HubError(f"{proxy} is missing: run `npm ci` in classroom/ (classroom/test.sh does)")
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(CLASSROOM / "jupyterhub_config.py")],
                                        cwd=self.state, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HubError(f"the hub exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")
            try:
                self.api("GET", "/")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        raise HubError(f"the hub did not answer on {self.url} within {timeout} s:\n{self.log_text()[-3000:]}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def remember_processes(self) -> None:
        if self.process is None:
            return
        try:
            hub = psutil.Process(self.process.pid)
            self.pids |= {hub.pid, *(child.pid for child in hub.children(recursive=True))}
        except psutil.NoSuchProcess:
            pass

    def stop(self, timeout: float = 30) -> list[str]:
        """Stop the hub (it stops the proxy and every learner's server); what was left behind, if anything."""
        if self.process is None:
            return []
        self.remember_processes()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        self.process = None
        left = []
        deadline = time.monotonic() + 10
        alive = [p for p in self.pids if psutil.pid_exists(p)]
        while alive and time.monotonic() < deadline:
            time.sleep(0.2)
            alive = [p for p in alive if _alive(p)]
        for pid in alive:
            try:
                process = psutil.Process(pid)
                left.append(f"process {pid}: {' '.join(process.cmdline())[:200]}")
                process.kill()  # ours: it was in the hub's tree
            except psutil.NoSuchProcess:
                pass
        for port in range(self.port, self.port + 3):
            if port_listening(port):
                left.append(f"port {port} still listening")
        return left

    # -- the REST API -----------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=timeout) as response:
            text = response.read()
        return json.loads(text) if text else None

    def request_text(self, path: str, timeout: float = 30) -> str:
        """A page (not JSON) through the proxy."""
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"token {self.token}"})
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=timeout) as response:
            return str(response.read().decode())

    def api(self, method: str, path: str, body: Any = None) -> Any:
        return self.request(method, "/hub/api" + path, body)

    def create_users(self, names: list[str]) -> None:
        self.api("POST", "/users", {"usernames": names})

    def start_server(self, name: str, timeout: float = 90) -> float:
        """Start a learner's server and wait until it answers; the seconds it took."""
        started = time.monotonic()
        try:
            self.api("POST", f"/users/{name}/server")
        except urllib.error.HTTPError as error:
            if error.code != 202:
                raise HubError(f"starting {name}'s server: HTTP {error.code} {error.read()[:500]!r}") from None
        while time.monotonic() - started < timeout:
            server = self.api("GET", f"/users/{name}").get("servers", {}).get("")
            if server and server.get("ready"):
                self.request("GET", f"/user/{name}/api/status")  # through the proxy
                self.remember_processes()
                return time.monotonic() - started
            time.sleep(0.2)
        raise HubError(f"{name}'s server was not ready within {timeout} s:\n{self.log_text()[-3000:]}")

    def contents(self, user: str, path: str) -> dict[str, Any]:
        return self.request("GET", f"/user/{user}/api/contents/{path}?content=1")["content"]

    def save(self, user: str, path: str, notebook: dict[str, Any]) -> None:
        self.request("PUT", f"/user/{user}/api/contents/{path}", {"type": "notebook", "format": "json", "content": notebook})

    async def kernel(self, user: str, path: str) -> Kernel:
        """A new kernel in the learner's server, started for a notebook at ``path`` (its folder is the cwd)."""
        session = self.request("POST", f"/user/{user}/api/sessions",
                               {"path": path, "type": "notebook", "kernel": {"name": "python3"}})
        kernel_id = session["kernel"]["id"]
        url = f"ws://{HOST}:{self.port}/user/{user}/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"
        connection = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {self.token}"}))
        self.remember_processes()
        return Kernel(self, user, kernel_id, connection)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def learner_processes(user: str) -> list[psutil.Process]:
    """The learner's server and everything it runs (kernels, with their moto servers inside)."""
    found = []
    for process in psutil.process_iter(["environ"]):
        environ = process.info.get("environ") or {}
        if environ.get("JUPYTERHUB_USER") == user:
            found.append(process)
    return found


def memory(user: str) -> dict[str, float]:
    """The learner's processes: MiB ``rss`` (resident, shared pages counted in each) and ``uss`` (their own),
    and ``cpu``, the CPU seconds they used so far."""
    rss = uss = cpu = 0.0
    for process in learner_processes(user):
        try:
            info, times = process.memory_full_info(), process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        rss += info.rss
        uss += info.uss
        cpu += times.user + times.system
    return {"rss": rss / 2**20, "uss": uss / 2**20, "cpu": cpu}


