"""Block the network for the course's offline tests (active only when COURSE_BLOCK_NETWORK=1).

On ``PYTHONPATH``, Python imports this file at start-up in every process: the test runner
and each notebook kernel nbval starts. Connections to anything but this machine (loopback,
Unix sockets) then fail at once with a clear message, which proves the course's default path
needs no network. Jupyter kernels talk to the test runner over loopback, which stays open.
"""
import ipaddress
import os
import socket

MESSAGE = "network access blocked by the course's offline test: {}"


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)) and not isinstance(address, tuple):
        return True  # AF_UNIX path
    host = address[0] if isinstance(address, tuple) and address else address
    if isinstance(host, bytes):
        host = host.decode()
    if host in ("localhost", "", None):
        return True
    try:
        ip = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False  # a host name other than localhost
    return ip.is_loopback or ip.is_unspecified  # 0.0.0.0 and :: mean this machine (servers bind to them)


def _install() -> None:
    if getattr(socket, "_course_blocked", False):
        return
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        if self.family != getattr(socket, "AF_UNIX", None) and not _is_local(address):
            raise OSError(MESSAGE.format(address))
        return original_connect(self, address)

    def connect_ex(self, address):
        if self.family != getattr(socket, "AF_UNIX", None) and not _is_local(address):
            raise OSError(MESSAGE.format(address))
        return original_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local((host,)):
            raise socket.gaierror(MESSAGE.format(host))
        return original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
    socket._course_blocked = True


if os.environ.get("COURSE_BLOCK_NETWORK") == "1":
    _install()
