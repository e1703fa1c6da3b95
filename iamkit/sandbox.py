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
  or not, without ``PolicyName`` and ``PolicyId``; see :func:`iamkit.demo.authorization_details`.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from .errors import IamkitError

if TYPE_CHECKING:  # pragma: no cover
    from botocore.client import BaseClient

__all__ = [
    "ACCOUNT_ID",
    "RootAccount",
    "Sandbox",
    "SandboxError",
    "current_sandbox",
    "guard_active",
    "loopback_only",
    "register_cli",
    "set_root_account",
    "start_sandbox",
]

ACCOUNT_ID = "123456789012"
"""The sandbox's account: moto's default account id."""

HOST = "127.0.0.1"
REGION = "us-east-1"
# AWS's documented example credentials: obviously fake, and never valid anywhere.
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

_INSTALL_HINT = "install the workbook extras: pip install 'iamkit[workbook]'"
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


class SandboxError(IamkitError, RuntimeError):
    """The sandbox could not start, or a connection tried to leave this machine.

    Attributes:
        message: what went wrong, lowercase.
        hint: how to fix it, or None.
    """

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message + (f" — hint: {hint}" if hint else ""))


# ---------------------------------------------------------------------------------------------
# The loopback guard


_guard_depth = 0
_guard_lock = threading.Lock()
_hook_installed = False


def _is_loopback(family: int, address: Any) -> bool:
    """Whether a socket address stays on this machine (loopback, or not an IP socket)."""
    if family not in (socket.AF_INET, socket.AF_INET6):
        return True  # Unix sockets, netlink: never leave the machine
    if not isinstance(address, tuple) or not address:
        return False
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # a host name: resolving it is already a question for the network
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


_LOOKUPS = ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex")
_own_names: frozenset[str] = frozenset()


def _is_local_name(host: Any) -> bool:
    """Whether looking ``host`` up stays on this machine (no DNS query)."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None or host == "":
        return True
    if not isinstance(host, str):
        return False
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost") or name in _own_names:
        return True
    try:
        ipaddress.ip_address(name.split("%", 1)[0])  # a literal address: nothing to look up
    except ValueError:
        return False
    return True


def _refuse(where: str) -> SandboxError:
    return SandboxError(
        f"refused a connection to `{where}`: the iamkit sandbox is running, and only connections "
        "to this machine are allowed",
        "boto3 and the aws command reach the sandbox through AWS_ENDPOINT_URL; stop the sandbox "
        "(`sandbox.stop()`) to use the network again",
    )


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _guard_depth <= 0:
        return
    if event == "socket.connect" or event == "socket.sendto":
        sock, address = args[0], args[-1]
        if not _is_loopback(getattr(sock, "family", socket.AF_INET), address):
            many = isinstance(address, tuple) and len(address) > 1
            raise _refuse(f"{address[0]}:{address[1]}" if many else str(address))
    elif event in _LOOKUPS and not _is_local_name(args[0]):
        # a name lookup asks a DNS server, off this machine: refuse it before it is sent
        host = args[0].decode("ascii", "replace") if isinstance(args[0], bytes) else args[0]
        raise _refuse(f"{host}:{args[1]}" if event == "socket.getaddrinfo" and args[1] else str(host))


def _install_hook() -> None:
    global _hook_installed, _own_names
    with _guard_lock:
        if not _hook_installed:
            _own_names = frozenset({socket.gethostname().lower()})
            sys.addaudithook(_audit)  # audit hooks cannot be removed: the depth switches it
            _hook_installed = True


@contextmanager
def loopback_only() -> Iterator[None]:
    """Refuse, inside the block, every connection that would leave this machine.

    An audit hook raises :class:`SandboxError` before anything is sent: on ``socket.connect``
    and ``socket.sendto`` to an address that is not loopback (``127.0.0.0/8``, ``::1``), and on
    ``socket.getaddrinfo`` / ``gethostbyname`` of a name that would need DNS (anything but
    ``localhost``, this machine's own name and literal addresses). Unix sockets are allowed.
    ``sock.connect(("host.example", 443))`` with a name resolves inside CPython before its
    audit event, so that lookup cannot be stopped; boto3, urllib3 and urllib look names up
    with ``getaddrinfo`` first. Blocks nest; the hook is installed once per process and does
    nothing outside every block. A running sandbox holds one block.

    Yields:
        None.

    Raises:
        SandboxError: from the offending ``connect``, inside the block.
    """
    global _guard_depth
    _install_hook()
    with _guard_lock:
        _guard_depth += 1
    try:
        yield
    finally:
        with _guard_lock:
            _guard_depth -= 1


def guard_active() -> bool:
    """Whether :func:`loopback_only` is refusing connections now.

    Returns:
        True inside a ``loopback_only()`` block (and while a sandbox runs).
    """
    return _guard_depth > 0


# ---------------------------------------------------------------------------------------------
# The root user, which moto does not model


@dataclass
class RootAccount:
    """What the credential report's ``<root_account>`` row says about the root user.

    Attributes:
        created: when the account was created (``user_creation_time``).
        mfa_active: whether the root user has MFA (also ``AccountMFAEnabled``).
        password_last_used: the last console sign-in, or None for ``no_information``.
        access_key_created: when the root access key was created, or None for no key
            (also ``AccountAccessKeysPresent``).
        access_key_last_used: when the root access key was last used, or None for ``N/A``.
    """

    created: datetime
    mfa_active: bool = False
    password_last_used: datetime | None = None
    access_key_created: datetime | None = None
    access_key_last_used: datetime | None = None

    def csv_row(self, account_id: str) -> str:
        """The ``<root_account>`` line of a credential report, newline included."""
        def when(moment: datetime | None, missing: str) -> str:
            return missing if moment is None else moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")

        key = self.access_key_created is not None
        fields = [
            "<root_account>", f"arn:aws:iam::{account_id}:root", when(self.created, "N/A"),
            "not_supported", when(self.password_last_used, "no_information"), "not_supported", "not_supported",
            "true" if self.mfa_active else "false",
            "true" if key else "false", when(self.access_key_created, "N/A"),
            when(self.access_key_last_used, "N/A") if key else "N/A",
            ("us-east-1" if self.access_key_last_used else "N/A") if key else "N/A",
            ("iam" if self.access_key_last_used else "N/A") if key else "N/A",
            "false", "N/A", "N/A", "N/A", "N/A",
            "false", "N/A", "false", "N/A",
        ]
        return ",".join(fields) + "\n"


def _iam_backend(account_id: str = ACCOUNT_ID) -> Any:
    """moto's in-process IAM backend of an account (created on first use)."""
    from moto.backends import get_backend

    return get_backend("iam")[account_id]["aws"]


def _forget_iam() -> None:
    """Drop moto's IAM accounts before a reset.

    moto's reset re-creates every backend before dropping it; for IAM that means loading the
    AWS managed policies once more for nothing. Dropping them first is what the reset ends with.
    """
    from moto.backends import get_backend

    get_backend("iam").clear()


def _prepare_account(account_id: str = ACCOUNT_ID) -> Any:
    """Create the account's IAM backend now, and give its credential report a root row.

    Returns:
        The backend.
    """
    backend = _iam_backend(account_id)
    if "get_credential_report" not in vars(backend):
        original: Callable[[], str] = backend.get_credential_report

        def get_credential_report() -> str:
            header, _, rows = original().partition("\n")
            return header + "\n" + backend._iamkit_root.csv_row(backend.account_id) + rows

        backend.get_credential_report = get_credential_report  # this backend only
    if getattr(backend, "_iamkit_root", None) is None:
        _apply_root(backend, RootAccount(created=datetime.now(timezone.utc).replace(microsecond=0)))
    return backend


def _apply_root(backend: Any, root: RootAccount) -> None:
    backend._iamkit_root = root
    summary = backend.account_summary
    summary._account_mfa_enabled = 1 if root.mfa_active else 0
    summary._account_access_keys_present = 1 if root.access_key_created is not None else 0


def set_root_account(root: RootAccount, account_id: str = ACCOUNT_ID) -> None:
    """Describe the sandbox account's root user (moto has no root user of its own).

    Sets the credential report's ``<root_account>`` row and ``get-account-summary``'s
    ``AccountMFAEnabled`` / ``AccountAccessKeysPresent``. Works on moto's in-process backend:
    the sandbox of this process.

    Args:
        root: the root user's state.
        account_id: the account, the sandbox's by default.

    Raises:
        SandboxError: moto is not installed.
    """
    _require_moto()
    _apply_root(_prepare_account(account_id), root)


def _require_moto() -> None:
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        raise SandboxError(f"the sandbox needs moto's server, which is not installed ({exc.name})",
                           _INSTALL_HINT) from None
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise SandboxError("the sandbox needs boto3, which is not installed", _INSTALL_HINT) from None


# ---------------------------------------------------------------------------------------------
# The server


def _aws_error(environ: Mapping[str, Any], status: str, code: str, message: str,
               start_response: Callable[..., Any]) -> list[bytes]:
    """An error response boto3 and the aws command parse: JSON or query-protocol XML."""
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if not content_type.startswith("application/x-www-form-urlencoded"):  # IAM and STS speak the query protocol
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    else:
        from xml.sax.saxutils import escape

        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{escape(message)}</Message></Error><RequestId>iamkit-sandbox</RequestId>"
                "</ErrorResponse>").encode()
        headers = [("Content-Type", "text/xml")]
    start_response(status, headers + [("Content-Length", str(len(body)))])
    return [body]


class _Errors:
    """WSGI middleware: moto's unimplemented actions and crashes become AWS-shaped errors.

    Without it, an unimplemented action is an HTML page with status 500, which clients
    retry four times, and a traceback on the notebook's standard error.
    """

    def __init__(self, app: Callable[..., Any]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            return self.app(environ, start_response)
        except NotImplementedError as exc:
            text = str(exc)
            action = text.split("The ", 1)[-1].split(" action", 1)[0] if " action" in text else text
            message = f"the local sandbox (moto) does not implement `{action}`"
            if action in ("simulate_custom_policy", "simulate_principal_policy"):
                message += f"; iamkit.{action}(...) answers the same request offline"
            return _aws_error(environ, "501 Not Implemented", "NotImplemented", message, start_response)
        except Exception as exc:  # a server must answer, not die
            message = f"the local sandbox (moto) failed: {type(exc).__name__}: {exc}"
            if isinstance(exc, AttributeError) and "NoneType" in str(exc):  # moto found no backend for the host
                message = "the local sandbox (moto) does not provide this AWS service"
            return _aws_error(environ, "501 Not Implemented", "NotImplemented", message, start_response)


def _server_class() -> type:
    """ThreadedMotoServer, quiet, with AWS-shaped errors, and failing loudly instead of hanging."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):  # type: ignore[misc, valid-type]
        def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's name
            return None

    class Server(ThreadedMotoServer):  # type: ignore[misc, valid-type]
        error: BaseException | None = None

        def _server_entry(self) -> None:
            try:
                app = _Errors(DomainDispatcherApplication(create_backend_app))
                self._server = make_server(self._ip_address, self._port, app, True, request_handler=QuietHandler)
            except BaseException as exc:  # werkzeug calls sys.exit(1) when it cannot bind
                self.error = exc
                self._server_ready_event.set()
                return
            self._server_ready_event.set()
            self._server.serve_forever()

    return Server


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug binds
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


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
        self.port = port
        self._server: Any = None
        self._endpoint_url: str | None = None
        self._tmp: str | None = None
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
            _require_moto()
            if self.port is not None and not _port_free(self.port):
                raise SandboxError(f"port `{self.port}` is already in use on {HOST}",
                                   "choose another port, or leave it out to use a free one")
            saved_server_env = {k: os.environ.get(k) for k in _SERVER_ENV}
            os.environ.update(_SERVER_ENV)
            server = _server_class()(ip_address=HOST, port=self.port or 0, verbose=False)
            server.start()
            if server.error is not None:
                _restore(saved_server_env)
                raise SandboxError(f"the sandbox could not listen on {HOST}:{self.port or 0}: {server.error}",
                                   "choose another port, or leave it out to use a free one")
            host, port = server.get_host_and_port()
            self._server = server
            self._endpoint_url = f"http://{host}:{port}"
            self._tmp = tempfile.mkdtemp(prefix="iamkit-sandbox-")
            self._env = self._environment()
            self._saved_env = {**saved_server_env, **{k: os.environ.get(k) for k in self._env}}
            for name in (*_UNSET, *(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_"))):
                self._saved_env.setdefault(name, os.environ.get(name))
                os.environ.pop(name, None)
            os.environ.update(self._env)
            self._put_aws_on_path()
            self._swap_boto3_session()
            self._guard = loopback_only()
            self._guard.__enter__()
            _current = self
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
                _forget_iam()
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
            if self._tmp:
                shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
            self.seeded = None
            if _current is self:
                _current = None

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
        _forget_iam()
        self._post("/moto-api/reset")
        _prepare_account(self.account_id)
        self.seeded = None

    def seed(self, name: str) -> None:
        """Empty the account and load a demo company (see :mod:`iamkit.demo`).

        Args:
            name: ``"demo"`` (ExampleCorp with planted mistakes) or ``"clean"`` (without).

        Raises:
            SandboxError: unknown name, or the sandbox is not running.
        """
        from . import demo

        if name not in demo.COMPANIES:
            from .errors import suggest

            raise SandboxError(f"unknown seed `{name}`",
                               suggest(name, demo.COMPANIES) or f"choose one of {', '.join(demo.COMPANIES)}")
        self.reset()
        self._post(f"/moto-api/seed?a={_RANDOM_SEED}")
        demo.seed_demo(self.client, name)
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
        seed: ``"demo"`` or ``"clean"`` to load ExampleCorp (see :mod:`iamkit.demo`); None
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


# ---------------------------------------------------------------------------------------------
# The command line: ``iamkit sandbox start``


def register_cli(subparsers: Any) -> None:
    """Add ``iamkit sandbox start [--seed demo|clean] [--port N]`` to the ``iamkit`` command.

    Args:
        subparsers: the object ``ArgumentParser.add_subparsers()`` returned; the command sets
            ``run`` to a function of the parsed arguments that returns the exit status.
    """
    from .demo import COMPANIES

    sandbox = subparsers.add_parser(
        "sandbox", help="run a local IAM and STS endpoint for the aws command and boto3",
        description="A local IAM and STS endpoint (moto) on 127.0.0.1: type real aws commands with no "
                    "AWS account; nothing is sent to AWS.")
    commands = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="COMMAND")
    start = commands.add_parser(
        "start", help="run the sandbox in the foreground until Ctrl+C",
        description="Run the sandbox in the foreground and print the export lines that point another "
                    "terminal at it. Exit status: 0 after Ctrl+C, 2 when it cannot start.")
    start.add_argument("--seed", choices=list(COMPANIES), default=None,
                       help="load the demo company: `demo` (with planted mistakes) or `clean`")
    start.add_argument("--port", type=int, default=None, metavar="N", help="local port (default: a free one)")
    start.set_defaults(run=_run_start)


def _run_start(args: argparse.Namespace, *, out: Any = None, wait: Callable[[], None] | None = None) -> int:
    out = out or sys.stdout
    try:
        sandbox = start_sandbox(seed=args.seed, port=args.port)
    except SandboxError as exc:
        print(f"iamkit: {exc}", file=sys.stderr)
        return 2
    try:
        seeded = f", company {args.seed}" if args.seed else ", empty account"
        print(f"# iamkit sandbox: IAM and STS on {sandbox.endpoint_url} (account {sandbox.account_id}{seeded})",
              file=out)
        print("# paste these lines into another terminal, then type aws commands there:", file=out)
        for line in sandbox.export_lines():
            print(line, file=out)
        print("# press Ctrl+C to stop", file=out, flush=True)
        try:
            previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it cleanly too
        except ValueError:  # not the main thread
            previous = None
        try:
            (wait or _forever)()
        except KeyboardInterrupt:
            pass
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    finally:
        sandbox.stop()
    print("# sandbox stopped", file=out)
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _forever() -> None:
    while True:
        time.sleep(3600)
