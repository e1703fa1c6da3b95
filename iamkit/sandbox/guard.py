"""The loopback guard: while a sandbox runs, this process sends nothing off the machine.

:func:`loopback_only` installs an audit hook (:func:`sys.addaudithook`) and wraps the socket
methods and name lookups, so that a connection or datagram to an address that is not loopback
(``127.0.0.0/8``, ``::1``) or a Unix socket raises :class:`~iamkit.errors.SandboxError` before
a packet is sent; name lookups other than ``localhost`` are refused before any DNS query, and
packet and raw sockets are refused. It nests: the guard is off again only when every
``loopback_only()`` has ended. Child processes inherit the environment, not the guard.

Sources: https://docs.python.org/3/library/audit_events.html (the socket events)
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ..errors import SandboxError

__all__ = ["guard_active", "loopback_only"]


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
