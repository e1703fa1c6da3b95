"""The loopback guard refuses every way out of this machine, and lets loopback and Unix sockets through.

No test here can send anything off the machine, even against a guard that lets a call through:
a tripwire audit hook, added after the guard's own hook (hooks run in the order they were
added), raises :class:`Escaped` for any send, lookup or socket the guard should have refused.
A test then fails with ``Escaped`` instead of ``SandboxError``, before a packet or a DNS query.
Destinations are TEST-NET addresses (RFC 5737, RFC 3849), never routed anyway. The one call no
audit hook can see is the lookup CPython makes itself for a name given to ``sock.connect``:
against this guard it never happens (the name is refused first), against a guard without that
check it would be a DNS query for an AWS name.
"""

from __future__ import annotations

import ipaddress
import os
import pathlib
import socket
import sys
from typing import Any, Callable, Iterator

import pytest

from iamkit.sandbox import SandboxError, loopback_only

with loopback_only():  # installs the guard's hook now, so that the tripwire runs after it
    pass


class Escaped(AssertionError):
    """The guard let a call through that would have left this machine."""


_armed = False
_lookups: list[Any] = []  # every host the system resolver was asked about while armed


def _address(host: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = host.decode() if isinstance(host, bytes) else host
    try:
        return ipaddress.ip_address(str(text).split("%", 1)[0])
    except ValueError:
        return None


def _loopback(host: Any) -> bool:
    address = _address(host)
    return address is not None and address.is_loopback


def _tripwire(event: str, args: tuple[Any, ...]) -> None:
    if not _armed:
        return
    if event == "socket.__new__" and args[1] not in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX):
        raise Escaped(f"socket of family {args[1]}")
    if event == "socket.__new__" and args[2] & 0xF == socket.SOCK_RAW:
        raise Escaped("raw socket")
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[-1]
        if address is not None and sock.family != socket.AF_UNIX and not _loopback(address[0]):
            raise Escaped(f"{event} {address}")
    if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
        _lookups.append(args[0])
        if args[0] not in (None, "", b"") and _address(args[0]) is None:
            raise Escaped(f"{event} {args[0]!r}: the resolver would ask DNS")
    if event in ("socket.gethostbyaddr", "socket.getnameinfo"):
        address = args[0][0] if event == "socket.getnameinfo" else args[0]
        if not _loopback(address):
            raise Escaped(f"{event} {address!r}: a PTR query to DNS")


sys.addaudithook(_tripwire)


@pytest.fixture
def guarded() -> Iterator[list[Any]]:
    """Inside ``loopback_only()``, with the tripwire armed; yields the resolver's lookups."""
    global _armed
    _lookups.clear()
    with loopback_only():
        _armed = True
        try:
            yield _lookups
        finally:
            _armed = False


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on 127.0.0.1; its port."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def _udp() -> socket.socket:
    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


OUT = ("192.0.2.1", 443)

SENDS: dict[str, Callable[[], Any]] = {
    "connect": lambda: socket.socket().connect(OUT),
    "connect_ex": lambda: socket.socket().connect_ex(OUT),
    "sendto": lambda: _udp().sendto(b"x", OUT),
    "sendmsg": lambda: _udp().sendmsg([b"x"], [], 0, OUT),
    "create_connection": lambda: socket.create_connection(OUT, timeout=1),
    "connect IPv6": lambda: socket.socket(socket.AF_INET6).connect(("2001:db8::1", 443)),
    "sendmsg IPv6": lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendmsg([b"x"], [], 0,
                                                                                       ("2001:db8::1", 53)),
}


@pytest.mark.parametrize("send", SENDS.values(), ids=SENDS.keys())
def test_every_send_path_to_another_machine_is_refused(send: Callable[[], Any], guarded: list[Any]) -> None:
    with pytest.raises(SandboxError, match=r"refused a connection to `(192\.0\.2\.1:443|2001:db8::1:(443|53))`"):
        send()


def test_sendmsg_on_a_connected_loopback_socket_is_allowed(guarded: list[Any]) -> None:
    with _udp() as receiver, _udp() as sender:
        receiver.bind(("127.0.0.1", 0))
        sender.connect(receiver.getsockname())
        sender.sendmsg([b"here"])
        sender.sendmsg([b"too"], [], 0, receiver.getsockname())
        assert receiver.recv(10) == b"here" and receiver.recv(10) == b"too"


LOOKUPS: dict[str, Callable[[], Any]] = {
    "getaddrinfo of an AWS name": lambda: socket.getaddrinfo("iam.amazonaws.com", 443),
    "getaddrinfo of this machine's name": lambda: socket.getaddrinfo(socket.gethostname(), 80),
    "getaddrinfo of a .localhost name": lambda: socket.getaddrinfo("iamkit.localhost", 80),
    "gethostbyname": lambda: socket.gethostbyname("sts.amazonaws.com"),
    "gethostbyname_ex of this machine's name": lambda: socket.gethostbyname_ex(socket.gethostname()),
    "gethostbyaddr (a PTR query)": lambda: socket.gethostbyaddr("192.0.2.1"),
    "getnameinfo (a PTR query)": lambda: socket.getnameinfo(("192.0.2.1", 443), 0),
    "create_connection with a name": lambda: socket.create_connection(("iam.amazonaws.com", 443), timeout=1),
}


@pytest.mark.parametrize("lookup", LOOKUPS.values(), ids=LOOKUPS.keys())
def test_names_are_refused_before_any_dns_query(lookup: Callable[[], Any], guarded: list[Any]) -> None:
    with pytest.raises(SandboxError, match="refused a name lookup of `"):
        lookup()


NAMED: dict[str, Callable[[], Any]] = {
    "connect": lambda: socket.socket().connect(("iam.amazonaws.com", 443)),
    "connect_ex": lambda: socket.socket().connect_ex((b"iam.amazonaws.com", 443)),
    "sendto": lambda: _udp().sendto(b"x", 0, ("sts.amazonaws.com", 53)),
    "sendmsg": lambda: _udp().sendmsg([b"x"], [], 0, ("sts.amazonaws.com", 53)),
}


@pytest.mark.parametrize("send", NAMED.values(), ids=NAMED.keys())
def test_a_name_given_to_a_socket_is_refused_before_cpython_resolves_it(send: Callable[[], Any],
                                                                         guarded: list[Any]) -> None:
    # CPython resolves such a name in C, with no audit event: the tripwire cannot see that lookup,
    # and an old guard refused the connect only after the DNS query had gone.
    with pytest.raises(SandboxError, match=r"refused a connection to `(iam|sts)\.amazonaws\.com:(443|53)`"):
        send()


def test_localhost_and_bracketed_loopback_given_to_a_socket_stay_here(guarded: list[Any], listener: int) -> None:
    with socket.socket() as sock:
        sock.connect(("localhost", listener))
        assert sock.getpeername() == ("127.0.0.1", listener)
    with _udp() as receiver, _udp() as sender:
        receiver.bind(("127.0.0.1", 0))
        sender.sendto(b"local", ("localhost", receiver.getsockname()[1]))
        assert receiver.recv(10) == b"local"
    try:
        server = socket.socket(socket.AF_INET6)
        server.bind(("::1", 0))
    except OSError:
        return  # no IPv6 loopback here
    with server, socket.socket(socket.AF_INET6) as client:
        server.listen()
        assert client.connect_ex(("[::1]", server.getsockname()[1])) == 0


def test_localhost_is_answered_here_without_the_resolver(guarded: list[Any], listener: int) -> None:
    found = {info[4][0] for info in socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)}
    assert found == {"127.0.0.1", "::1"}
    assert {info[4][0] for info in socket.getaddrinfo("LOCALHOST.", 80, socket.AF_INET)} == {"127.0.0.1"}
    assert socket.gethostbyname("localhost") == "127.0.0.1"
    assert socket.gethostbyname_ex("localhost") == ("localhost", [], ["127.0.0.1"])
    with socket.create_connection(("localhost", listener), timeout=5):
        pass
    assert "localhost" not in guarded and "LOCALHOST." not in guarded  # only numeric lookups reached the resolver


def test_ipv6_loopback_is_allowed_with_and_without_brackets(guarded: list[Any]) -> None:
    assert [info[4][0] for info in socket.getaddrinfo("[::1]", 80, type=socket.SOCK_STREAM)] == ["::1"]
    assert "[::1]" not in guarded  # the resolver would have asked DNS about it
    try:
        server = socket.socket(socket.AF_INET6)
        server.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with server:
        server.listen()
        with socket.create_connection(("::1", server.getsockname()[1]), timeout=5):
            pass


@pytest.mark.skipif(not hasattr(socket, "AF_PACKET"), reason="AF_PACKET is Linux's")
def test_packet_and_raw_sockets_are_refused_before_they_exist(guarded: list[Any]) -> None:
    with pytest.raises(SandboxError, match="refused a new socket `AF_PACKET SOCK_RAW`"):
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    with pytest.raises(SandboxError, match="refused a new socket `AF_INET SOCK_RAW`"):
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    with pytest.raises(SandboxError, match="refused a new socket `AF_NETLINK"):
        socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM)


def test_unix_sockets_are_allowed(guarded: list[Any], tmp_path: pathlib.Path) -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ping")
        assert right.recv(4) == b"ping"
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
        server.bind(path)
        server.listen()
        client.connect(path)


def test_outside_the_guard_nothing_changes(listener: int) -> None:
    assert socket.getaddrinfo("127.0.0.1", 80, socket.AF_INET, socket.SOCK_STREAM)[0][4] == ("127.0.0.1", 80)
    with socket.create_connection(("localhost", listener), timeout=5):
        pass
    if hasattr(os, "getuid") and os.getuid() != 0:
        with pytest.raises(PermissionError):  # the operating system's answer, not the guard's
            socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
