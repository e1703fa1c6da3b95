"""A local IAM and STS endpoint for typing real AWS commands with no AWS account.

The sandbox runs moto's server (``moto.server.ThreadedMotoServer``) in a background thread
of this process, on ``127.0.0.1`` and a free port, and points boto3 and the ``aws`` command at
it through environment variables, so that both ``!aws iam create-user …`` in a notebook and
``boto3.client("iam")`` reach the sandbox and nothing else::

    >>> import iamkit.sandbox as sandbox
    >>> sb = sandbox.start_sandbox(seed="demo")
    >>> sb.client("iam").list_users()["Users"][0]["UserName"]
    'alice'
    >>> sb.stop()                                   # the environment is as it was before

While a sandbox runs, :func:`loopback_only` is on: any connection this process tries to open
to an address that is not on this machine raises :class:`SandboxError` before a packet is
sent. Child processes (the ``aws`` command) inherit the environment, not the guard.

The sandbox's files (an empty AWS config, and :attr:`Sandbox.workdir` for a lesson's policy
documents and MFA seeds) live in a temporary folder that goes when the sandbox stops, when the
process exits, or, for a process killed outright, right after: a small watcher process removes it.

The account is moto's default, ``123456789012``. AWS managed policies
(``arn:aws:iam::aws:policy/ReadOnlyAccess`` …) are loaded, as in a real account.

What moto adds or lacks, and what iamkit does about it:

- moto's credential report has no ``<root_account>`` row; the sandbox adds one, described by
  :class:`RootAccount` (see :func:`set_root_account`), and keeps ``get-account-summary``'s
  ``AccountMFAEnabled`` and ``AccountAccessKeysPresent`` in step with it.
- moto does not implement ``simulate-custom-policy`` or ``simulate-principal-policy``; the
  sandbox answers them with a ``NotImplemented`` error (status 501, not retried) that names
  iamkit's function of the same name, instead of an HTML page, four retries and a traceback.
- moto does not check role trust policies on ``sts assume-role``, nor TOTP codes on
  ``enable-mfa-device``; it keeps permissions boundaries on roles only (no
  ``put-user-permissions-boundary``); it has no IAM Access Analyzer (and prints a line about
  the missing backend when asked for it).
- With the sandbox's credentials, ``sts get-caller-identity`` answers moto's stand-in caller,
  ``arn:aws:sts::123456789012:user/moto``; with a user's access key, that user.
- ``get-account-authorization-details`` lists every AWS managed policy (about 1,600), attached
  or not, without ``PolicyName`` and ``PolicyId``; see :func:`iamkit.sandbox.demo.authorization_details`.
"""

from __future__ import annotations

import os
import pathlib
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
import weakref
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import SandboxError, suggest
from ._endpoint import server_class
from ._moto import (
    ACCESS_KEY_ID,
    ACCOUNT_ID,
    REGION,
    SECRET_ACCESS_KEY,
    RootAccount,
    forget_iam,
    prepare_account,
    require_moto,
    set_root_account,
)
from .demo import COMPANIES, seed_demo
from .guard import loopback_only

if TYPE_CHECKING:  # pragma: no cover
    from botocore.client import BaseClient

__all__ = [
    "ACCOUNT_ID",
    "RootAccount",
    "Sandbox",
    "SandboxError",
    "current_sandbox",
    "set_root_account",
    "start_sandbox",
]

HOST = "127.0.0.1"
# Variables that would take boto3 or the aws command somewhere else: unset while running.
_UNSET = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
)
# Read by moto in this process. MOTO_IAM_LOAD_MANAGED_POLICIES: load AWS managed policies when an
# account's IAM backend is created (moto.settings.load_iam_aws_managed_policies). MOTO_ACCOUNT_ID:
# every request is in this account; without it moto looks the caller's access key up in every
# partition's IAM backend, creating six of them, each loading the ~1,600 managed policies.
_SERVER_ENV = {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "MOTO_ACCOUNT_ID": ACCOUNT_ID}
# Fixes moto's random ids (user ids, access keys, MFA seeds) before seeding a company.
_RANDOM_SEED = 20261130


# ---------------------------------------------------------------------------------------------
# The server


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug binds
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


# Run beside the sandbox's process, in a session of its own: the read ends when that process closes
# the pipe, exits, or is killed outright (SIGKILL, a kernel shut down "now"), where no clean-up code runs.
_WATCHER = "import shutil, sys; sys.stdin.buffer.read(); shutil.rmtree(sys.argv[1], ignore_errors=True)"


def _watch(folder: str) -> subprocess.Popen[bytes]:
    """A process that removes ``folder`` once this one is gone, however it goes."""
    return subprocess.Popen([sys.executable, "-I", "-S", "-c", _WATCHER, folder], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


_current: Sandbox | None = None
_current_lock = threading.RLock()


class Sandbox:
    """A local IAM and STS endpoint, and the environment that points AWS tools at it.

    Use :func:`start_sandbox`, or ``with Sandbox() as sb:``. One sandbox runs per process
    (moto keeps its accounts in module globals, and the environment is the process's).

    Attributes:
        port: the requested port, or None for a free one.
    """

    def __init__(self, *, port: int | None = None):
        """Prepare a sandbox; nothing runs until :meth:`start`.

        Args:
            port: the local port to listen on; None picks a free one.
        """
        if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535):
            raise SandboxError(f"`{port}` is not a port", "give a number from 1 to 65535, or 0 for a free one")
        self.port = port
        self._server: Any = None
        self._endpoint_url: str | None = None
        self._tmp: str | None = None
        self._tmp_cleanup: weakref.finalize | None = None
        self._watcher: subprocess.Popen[bytes] | None = None
        self._saved_env: dict[str, str | None] = {}
        self._env: dict[str, str] = {}
        self._guard: Any = None
        self._saved_boto3_session: Any = None
        self._aws_bin: str | None = None
        self.seeded: str | None = None

    # -- life cycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the server is up."""
        return self._server is not None

    def start(self) -> Sandbox:
        """Start the server, set the environment, and turn the loopback guard on.

        Starting a running sandbox does nothing.

        Returns:
            The sandbox itself.

        Raises:
            SandboxError: moto is missing, the port is taken, or another sandbox is running.
        """
        global _current
        with _current_lock:
            if self.running:
                return self
            if _current is not None and _current is not self:
                raise SandboxError(f"a sandbox is already running on {_current.endpoint_url}",
                                   "use `current_sandbox()`, or stop it first")
            require_moto()
            if self.port is not None and not _port_free(self.port):
                raise SandboxError(f"port `{self.port}` is already in use on {HOST}",
                                   "choose another port, or leave it out to use a free one")
            saved_server_env = {k: os.environ.get(k) for k in _SERVER_ENV}
            os.environ.update(_SERVER_ENV)
            server = server_class()(ip_address=HOST, port=self.port or 0, verbose=False)
            server.start()
            if server.error is not None:
                _restore(saved_server_env)
                raise SandboxError(f"the sandbox could not listen on {HOST}:{self.port or 0}: {server.error}",
                                   "choose another port, or leave it out to use a free one")
            self._server = server  # from here on, whatever start did, stop() undoes
            self._saved_env = saved_server_env
            try:  # `kill` (a KeyboardInterrupt) may land anywhere in here
                self._settle_in(server)
                _current = self
            except BaseException:
                self.stop()
                raise
        try:
            self.reset()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server, turn the guard off, and restore the environment exactly.

        Stopping a stopped sandbox does nothing.
        """
        global _current
        with _current_lock:
            if not self.running:
                return
            try:
                forget_iam()
                self._post("/moto-api/reset")  # free moto's accounts: they live in this process
            except Exception:  # stopping must not fail
                pass
            self._server.stop()
            self._server = None
            if self._guard is not None:
                self._guard.__exit__(None, None, None)
                self._guard = None
            _restore(self._saved_env)
            self._saved_env = {}
            self._restore_boto3_session()
            if self._tmp_cleanup is not None:
                self._tmp_cleanup()
            if self._watcher is not None:
                self._watcher.communicate(timeout=10)  # closes its pipe: it finds the folder gone, and exits
            self._tmp = self._tmp_cleanup = self._watcher = None
            self.seeded = None
            if _current is self:
                _current = None

    def _settle_in(self, server: Any) -> None:
        """Give the running server its folder, environment and loopback guard."""
        host, port = server.get_host_and_port()
        self._endpoint_url = f"http://{host}:{port}"
        self._tmp = tempfile.mkdtemp(prefix="iamkit-sandbox-")
        self._tmp_cleanup = weakref.finalize(self, shutil.rmtree, self._tmp, ignore_errors=True)  # also at exit
        self._watcher = _watch(self._tmp)  # and when this process is killed
        os.mkdir(os.path.join(self._tmp, "work"))
        self._env = self._environment()
        for name in (*self._env, *_UNSET, *(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_"))):
            self._saved_env.setdefault(name, os.environ.get(name))
        for name in (*_UNSET, *(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_"))):
            os.environ.pop(name, None)
        os.environ.update(self._env)
        self._put_aws_on_path()
        self._swap_boto3_session()
        self._guard = loopback_only()
        self._guard.__enter__()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        if not self.running:
            return "<Sandbox stopped>"
        seeded = f", seed {self.seeded}" if self.seeded else ""
        return f"<Sandbox {self.endpoint_url} account {self.account_id}{seeded}>"

    # -- what it offers ---------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``.

        Raises:
            SandboxError: the sandbox is not running.
        """
        if self._endpoint_url is None or not self.running:
            raise SandboxError("the sandbox is not running", "start it with `start_sandbox()`")
        return self._endpoint_url

    @property
    def account_id(self) -> str:
        """The sandbox account, ``123456789012``."""
        return ACCOUNT_ID

    @property
    def workdir(self) -> pathlib.Path:
        """A private folder for a lesson's files (policy documents, MFA seeds).

        It is removed, with everything in it, when the sandbox stops or this process exits.

        Raises:
            SandboxError: the sandbox is not running.
        """
        if self._tmp is None or not self.running:
            raise SandboxError("the sandbox is not running", "start it with `start_sandbox()`")
        return pathlib.Path(self._tmp, "work")

    @property
    def env(self) -> dict[str, str]:
        """The variables the sandbox sets (a copy).

        It also unsets ``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` and the other variables in
        ``unset_variables``, and puts the folder of this Python's ``aws`` command first on
        ``PATH`` so that ``!aws`` in a notebook runs it.
        """
        return dict(self._env)

    @property
    def unset_variables(self) -> tuple[str, ...]:
        """The variables the sandbox removes while it runs."""
        return _UNSET

    def export_lines(self) -> list[str]:
        """Shell lines that point a terminal at the sandbox.

        Returns:
            ``export NAME=value`` lines (with, when this Python has the ``aws`` command
            next to it, one that puts its folder first on ``PATH``), then one ``unset …`` line.
        """
        lines = [f"export {k}={shlex.quote(v)}" for k, v in self.env.items()]
        if self._aws_bin is not None:
            lines.append(f'export PATH={shlex.quote(self._aws_bin)}:"$PATH"')
        lines.append("unset " + " ".join(_UNSET))
        return lines

    def client(self, service: str, **kwargs: Any) -> BaseClient:
        """A boto3 client bound to the sandbox, whatever the environment says.

        Args:
            service: ``"iam"``, ``"sts"``, …
            **kwargs: more arguments for ``boto3.session.Session.client``.

        Returns:
            The client.

        Raises:
            SandboxError: the sandbox is not running.
        """
        import boto3.session

        session = boto3.session.Session(aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
                                         region_name=REGION)
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return session.client(service, **kwargs)  # type: ignore[call-overload, no-any-return]

    def reset(self) -> None:
        """Empty the account: no users, groups, roles or customer policies.

        AWS managed policies stay, as in a new account; the root user has no access key and
        no MFA.

        Raises:
            SandboxError: the sandbox is not running.
        """
        forget_iam()
        self._post("/moto-api/reset")
        prepare_account(self.account_id)
        self.seeded = None

    def seed(self, name: str) -> None:
        """Empty the account and load a demo company (see :mod:`iamkit.sandbox.demo`).

        Args:
            name: ``"demo"`` (ExampleCorp with planted mistakes) or ``"clean"`` (without).

        Raises:
            SandboxError: unknown name, or the sandbox is not running.
        """
        if name not in COMPANIES:
            raise SandboxError(f"unknown seed `{name}`",
                               suggest(name, COMPANIES) or f"choose one of {', '.join(COMPANIES)}")
        self.reset()
        self._post(f"/moto-api/seed?a={_RANDOM_SEED}")
        seed_demo(self.client, name)
        self.seeded = name

    # -- helpers ----------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        assert self._tmp is not None
        config = os.path.join(self._tmp, "config")
        credentials = os.path.join(self._tmp, "credentials")
        for path in (config, credentials):
            with open(path, "w", encoding="utf-8"):
                pass
        no_proxy = ",".join(_merge_no_proxy(os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""))
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_CONFIG_FILE": config,
            "AWS_SHARED_CREDENTIALS_FILE": credentials,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }

    def _post(self, path: str) -> bytes:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
        request = urllib.request.Request(self.endpoint_url + path, data=b"", method="POST")
        with opener.open(request, timeout=60) as response:
            return bytes(response.read())

    def _put_aws_on_path(self) -> None:
        # `!aws` in a notebook runs whatever `aws` is first on PATH: make it this environment's.
        folder = os.path.dirname(sys.executable)
        self._aws_bin = None
        if shutil.which("aws", path=folder) is None:
            return
        self._aws_bin = folder
        path = os.environ.get("PATH", "")
        if path.split(os.pathsep)[0] != folder:
            self._saved_env.setdefault("PATH", os.environ.get("PATH"))
            os.environ["PATH"] = folder + (os.pathsep + path if path else "")

    def _swap_boto3_session(self) -> None:
        # boto3's default session caches credentials once resolved: give the sandbox a fresh one.
        boto3 = sys.modules.get("boto3")
        self._saved_boto3_session = getattr(boto3, "DEFAULT_SESSION", None)
        if boto3 is not None:
            setattr(boto3, "DEFAULT_SESSION", None)  # noqa: B010 - boto3 declares no such attribute

    def _restore_boto3_session(self) -> None:
        boto3 = sys.modules.get("boto3")
        if boto3 is not None:
            setattr(boto3, "DEFAULT_SESSION", self._saved_boto3_session)  # noqa: B010
        self._saved_boto3_session = None


def _merge_no_proxy(existing: str) -> list[str]:
    names = [n.strip() for n in existing.split(",") if n.strip()]
    for name in (HOST, "localhost"):
        if name not in names:
            names.append(name)
    return names


def _restore(saved: Mapping[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def start_sandbox(*, seed: str | None = None, port: int | None = None) -> Sandbox:
    """Start the sandbox (or return the running one) and optionally load a demo company.

    Args:
        seed: ``"demo"`` or ``"clean"`` to load ExampleCorp (see :mod:`iamkit.sandbox.demo`); None
            for an empty account. Ignored when a sandbox is already running: call
            :meth:`Sandbox.seed` to reload.
        port: the local port; None picks a free one.

    Returns:
        The running sandbox.

    Raises:
        SandboxError: moto is missing, the port is taken, a running sandbox listens on another
            port, or the seed is unknown.
    """
    with _current_lock:
        running = _current
        if running is not None:
            if port is not None and not running.endpoint_url.endswith(f":{port}"):
                raise SandboxError(f"a sandbox is already running on {running.endpoint_url}",
                                   "stop it first (`current_sandbox().stop()`), or leave out the port")
            return running
        sandbox = Sandbox(port=port)
        sandbox.start()
    if seed is not None:
        try:
            sandbox.seed(seed)
        except BaseException:
            sandbox.stop()
            raise
    return sandbox


def current_sandbox() -> Sandbox | None:
    """The running sandbox of this process, or None.

    Returns:
        The sandbox started by :func:`start_sandbox` or :meth:`Sandbox.start`, or None.
    """
    return _current
