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

import argparse
import ipaddress
import json
import os
import pathlib
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import weakref
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from ..errors import SandboxError, suggest
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
# The loopback guard


_guard_depth = 0
_guard_lock = threading.Lock()
_hook_installed = False

# The socket events that can put a packet on a wire (the address is their last argument), and
# those that can make the resolver send a DNS query (the host is their first).
_SENDS = ("socket.connect", "socket.sendto", "socket.sendmsg")
_REVERSE_LOOKUPS = ("socket.gethostbyaddr", "socket.getnameinfo")
_LOOKUPS = ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", *_REVERSE_LOOKUPS)
_AF_UNIX = getattr(socket, "AF_UNIX", None)  # not on Windows
_TYPE_MASK = ~(getattr(socket, "SOCK_NONBLOCK", 0) | getattr(socket, "SOCK_CLOEXEC", 0))


def _host_text(host: Any) -> str | None:
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii", "replace")
    return host if isinstance(host, str) else None


def _ip_literal(host: Any, *, brackets: bool) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = _host_text(host)
    if text is None:
        return None
    if brackets and text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None  # a host name: only the network could say where it is
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_ip_literal(host: Any) -> bool:
    """Whether ``host`` is an address the resolver reads as such, without asking DNS (no brackets)."""
    return _ip_literal(host, brackets=False) is not None


def _is_loopback_literal(host: Any) -> bool:
    """Whether ``host`` is written as a loopback address: ``127.0.0.0/8``, ``::1``, ``[::1]``."""
    ip = _ip_literal(host, brackets=True)
    return ip is not None and ip.is_loopback


def _is_localhost(host: Any) -> bool:
    text = _host_text(host)
    return text is not None and text.lower().rstrip(".") == "localhost"


def _stays_here(family: int, address: Any) -> bool:
    """Whether a socket address is on this machine: a Unix socket, or a loopback IP literal."""
    if family == _AF_UNIX:
        return True
    if family not in (socket.AF_INET, socket.AF_INET6):
        return False  # packet, raw, Bluetooth, CAN…: refused, whatever the address
    return isinstance(address, tuple) and bool(address) and _is_loopback_literal(address[0])


def _enum_name(kind: Any, value: int) -> str:
    try:
        return str(kind(value).name)
    except ValueError:
        return str(value)


def _where(address: Any) -> str:
    if isinstance(address, tuple) and len(address) > 1:
        return f"{_host_text(address[0]) or address[0]}:{address[1]}"
    return str(_host_text(address) or address)


def _refuse(where: str, what: str = "a connection to") -> SandboxError:
    return SandboxError(
        f"refused {what} `{where}`: the iamkit sandbox is running, and only connections "
        "to this machine are allowed",
        "boto3 and the aws command reach the sandbox through AWS_ENDPOINT_URL; stop the sandbox "
        "(`sandbox.stop()`) to use the network again",
    )


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _guard_depth <= 0:
        return
    if event == "socket.__new__":
        _sock, family, kind, _proto = args
        if family not in (socket.AF_INET, socket.AF_INET6, _AF_UNIX) or (kind & _TYPE_MASK) == socket.SOCK_RAW:
            names = (_enum_name(socket.AddressFamily, family), _enum_name(socket.SocketKind, kind & _TYPE_MASK))
            raise _refuse(" ".join(names), "a new socket")  # raw frames would skip every check below
    elif event in _SENDS:
        sock, address = args[0], args[-1]
        if address is None and event == "socket.sendmsg":
            return  # a connected socket: its connect was checked
        if not _stays_here(getattr(sock, "family", -1), address):
            raise _refuse(_where(address))
    elif event in _LOOKUPS:
        host = args[0][0] if event == "socket.getnameinfo" else args[0]
        if event in _REVERSE_LOOKUPS:
            allowed = _is_loopback_literal(host)  # any other address is a PTR query
        else:
            allowed = host in (None, "", b"") or _is_ip_literal(host)  # an address is read, not looked up
        if not allowed:
            # a name to look up asks a DNS server, off this machine: refuse it before it is sent
            port = args[1] if event == "socket.getaddrinfo" else None
            raise _refuse(f"{_host_text(host)}:{port}" if port else str(_host_text(host) or host), "a name lookup of")


_resolver: dict[str, Callable[..., Any]] = {}


def _local_getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0,  # noqa: A002 - socket's names
                       proto: int = 0, flags: int = 0) -> list[Any]:
    text = _host_text(host)
    bracketed = text is not None and text.startswith("[") and _is_loopback_literal(text)
    if _guard_depth <= 0 or not (_is_localhost(host) or bracketed):
        return _resolver["getaddrinfo"](host, port, family, type, proto, flags)  # type: ignore[no-any-return]
    assert text is not None
    found: list[Any] = []
    # answered here, with numeric lookups only: the resolver would ask DNS about `[::1]`, and may about `localhost`
    for literal in [text[1:-1]] if bracketed else ["127.0.0.1", "::1"]:
        try:
            found += _resolver["getaddrinfo"](literal, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:  # the other family
            continue
    if not found:
        raise socket.gaierror(socket.EAI_FAMILY, "no loopback address of that family")
    return found


def _local_gethostbyname(host: Any) -> str:
    if _guard_depth > 0 and _is_localhost(host):
        return "127.0.0.1"
    return _resolver["gethostbyname"](host)  # type: ignore[no-any-return]


def _local_gethostbyname_ex(host: Any) -> tuple[str, list[str], list[str]]:
    if _guard_depth > 0 and _is_localhost(host):
        return "localhost", [], ["127.0.0.1"]
    return _resolver["gethostbyname_ex"](host)  # type: ignore[no-any-return]


_socket_methods: dict[str, Callable[..., Any]] = {}


def _unnamed(sock: Any, address: Any) -> Any:
    """``address`` for a guarded IP socket, without a name CPython would resolve before its audit event.

    ``localhost`` becomes the family's loopback address, ``[::1]`` loses its brackets, and any
    other name is refused here, before the resolver could ask DNS about it.
    """
    if _guard_depth <= 0 or getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
        return address
    if not isinstance(address, tuple) or not address or _is_ip_literal(address[0]):
        return address  # the audit hook judges addresses
    host = _host_text(address[0])
    if host is not None and _is_localhost(host):
        return ("127.0.0.1" if sock.family == socket.AF_INET else "::1", *address[1:])
    if host is not None and _is_loopback_literal(host):
        return (host[1:-1], *address[1:])
    raise _refuse(_where(address))


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _socket_methods["connect"](self, _unnamed(self, address))


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    return _socket_methods["connect_ex"](self, _unnamed(self, address))  # type: ignore[no-any-return]


def _guarded_sendto(self: socket.socket, data: Any, *flags_address: Any) -> int:
    if flags_address:  # sendto(data, address) or sendto(data, flags, address)
        flags_address = (*flags_address[:-1], _unnamed(self, flags_address[-1]))
    return _socket_methods["sendto"](self, data, *flags_address)  # type: ignore[no-any-return]


def _guarded_sendmsg(self: socket.socket, *args: Any) -> int:
    if len(args) > 3:  # sendmsg(buffers, ancdata, flags, address)
        args = (*args[:3], _unnamed(self, args[3]), *args[4:])
    return _socket_methods["sendmsg"](self, *args)  # type: ignore[no-any-return]


def _install_hook() -> None:
    global _hook_installed
    with _guard_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)  # audit hooks cannot be removed: the depth switches it
            # `localhost` is answered without the system resolver, which may ask DNS; the wrappers
            # do what the originals do outside every guarded block.
            for name, local in (("getaddrinfo", _local_getaddrinfo), ("gethostbyname", _local_gethostbyname),
                                ("gethostbyname_ex", _local_gethostbyname_ex)):
                _resolver[name] = getattr(socket, name)
                setattr(socket, name, local)
            # A name in `sock.connect((name, port))` is resolved inside CPython before the audit
            # event: these check it first.
            for name, guarded in (("connect", _guarded_connect), ("connect_ex", _guarded_connect_ex),
                                  ("sendto", _guarded_sendto), ("sendmsg", _guarded_sendmsg)):
                _socket_methods[name] = getattr(socket.socket, name)
                setattr(socket.socket, name, guarded)
            _hook_installed = True


@contextmanager
def loopback_only() -> Iterator[None]:
    """Refuse, inside the block, every connection that would leave this machine.

    Everything is refused but what is known to stay here. An audit hook raises
    :class:`SandboxError` before anything is sent: on ``connect`` / ``connect_ex``, ``sendto``
    and ``sendmsg`` (so ``socket.create_connection`` too) to anything but a loopback literal
    (``127.0.0.0/8``, ``::1``, ``[::1]``) or a Unix socket; on creating a socket of any other
    family, or a raw one (``AF_PACKET``, ``SOCK_RAW``); and on every lookup of a name
    (``getaddrinfo``, ``gethostbyname``) and every reverse lookup (``gethostbyaddr``,
    ``getnameinfo``) of an address that is not loopback, before the resolver could send a DNS
    query; an address given to ``getaddrinfo`` is read, not looked up. ``localhost`` is answered
    here, as ``127.0.0.1`` and ``::1``, without the resolver. CPython resolves a name given to
    ``sock.connect((name, port))`` (or ``sendto``, ``sendmsg``) before the audit event: the
    methods of ``socket.socket`` check the name first (``localhost`` is made ``127.0.0.1`` or
    ``::1``), so only a socket made with ``_socket.socket`` itself could still resolve one.
    Blocks nest; the hook and the wrappers are installed once per process and do what the
    originals do outside every block. A running sandbox holds one block.

    Yields:
        None.

    Raises:
        SandboxError: from the offending call, inside the block.
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
            server = _server_class()(ip_address=HOST, port=self.port or 0, verbose=False)
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


# ---------------------------------------------------------------------------------------------
# The command line: ``iamkit sandbox start``


def register_cli(subparsers: Any) -> None:
    """Add ``iamkit sandbox start [--seed demo|clean] [--port N]`` to the ``iamkit`` command.

    Args:
        subparsers: the object ``ArgumentParser.add_subparsers()`` returned; the command sets
            ``run`` to a function of the parsed arguments that returns the exit status.
    """
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
    start.add_argument("--port", type=_port, default=None, metavar="N",
                       help="local port, 1 to 65535 (default, or 0: a free one)")
    start.set_defaults(run=_run_start)


def _run_start(args: argparse.Namespace, *, out: Any = None, wait: Callable[[], None] | None = None) -> int:
    out = out or sys.stdout
    try:  # `kill` stops it as Ctrl+C does: cleanly, its files removed
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread
        previous = None
    sandbox = None
    try:
        with _signals_held():  # a `kill` while the company loads takes effect once it has loaded
            sandbox = start_sandbox(seed=args.seed, port=args.port or None)
        seeded = f", company {args.seed}" if args.seed else ", empty account"
        print(f"# iamkit sandbox: IAM and STS on {sandbox.endpoint_url} (account {sandbox.account_id}{seeded})",
              file=out)
        print("# paste these lines into another terminal, then type aws commands there:", file=out)
        for line in sandbox.export_lines():
            print(line, file=out)
        print("# press Ctrl+C to stop", file=out, flush=True)
        (wait or _forever)()
    except SandboxError as exc:
        print(f"iamkit: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        if sandbox is not None:
            sandbox.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print("# sandbox stopped", file=out)
    return 0


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back from this thread until the block ends, then deliver them.

    A KeyboardInterrupt raised in the middle of moto or of the start-up would leave them
    half done; held, it arrives between two whole steps. Where signals cannot be held
    (Windows), the block runs as it is.
    """
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _port(text: str) -> int:
    """``--port``: 0 to 65535, or a clear argparse error (exit status 2)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a port: give a number from 1 to 65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"`{text}` is not a port: give a number from 1 to 65535, or 0 for a free one")
    return port


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _forever() -> None:
    while True:
        time.sleep(3600)
