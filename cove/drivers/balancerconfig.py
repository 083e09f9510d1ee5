"""The haproxy configuration of a container cluster's balancer (``BalancerSpec``, Senlin's
loadbalance policy): a pure function of the spec, so an unchanged spec renders the same
bytes and asks for no reload.

- ``HTTP`` balances requests (``mode http``); ``HTTPS`` and ``TCP`` pass connections
  through (``mode tcp``), so TLS stays between client and member;
- ``method``: ``ROUND_ROBIN``, ``LEAST_CONNECTIONS``, ``SOURCE_IP`` become haproxy's
  ``roundrobin``, ``leastconn``, ``source``;
- the health monitor: ``HTTP``/``HTTPS`` checks ask ``url_path`` and expect one of
  ``expected_codes``; ``TCP`` and ``PING`` are connect checks (haproxy cannot send ICMP, and
  a member's container answers on its port, not to pings of its node);
- ``connection_limit`` ≥ 0 is the frontend's ``maxconn``; -1 is haproxy's default.
"""

from __future__ import annotations

import re

from cove.drivers.containerhost import Backend, BalancerCheck, BalancerSpec

METHODS = {"ROUND_ROBIN": "roundrobin", "LEAST_CONNECTIONS": "leastconn", "SOURCE_IP": "source"}
PROTOCOLS = ("HTTP", "HTTPS", "TCP")
CHECK_TYPES = ("PING", "TCP", "HTTP", "HTTPS")
PIDFILE = "/run/haproxy.pid"
# Old workers keep the connections they carry after a reload, for at most this long.
HARD_STOP_AFTER = "1h"

_SERVER_NAME = re.compile(r"[^A-Za-z0-9_.:-]")
_CODE = re.compile(r"^\d{3}$")
_RANGE = re.compile(r"^(\d{3})-(\d{3})$")


class BalancerSpecError(ValueError):
    """The spec asks for something the balancer cannot do; the message says what."""


def render(spec: BalancerSpec) -> str:
    """The whole configuration file. Raises ``BalancerSpecError`` for a bad spec."""
    protocol = spec.protocol.upper()
    if protocol not in PROTOCOLS:
        raise BalancerSpecError(f"protocol {spec.protocol} is not one of {', '.join(PROTOCOLS)}")
    method = METHODS.get(spec.method.upper())
    if method is None:
        raise BalancerSpecError(f"lb_method {spec.method} is not one of {', '.join(METHODS)}")
    if not 0 < spec.port < 65536:
        raise BalancerSpecError(f"port {spec.port} is not a TCP port")
    mode = "http" if protocol == "HTTP" else "tcp"
    lines = [
        "global",
        f"    pidfile {PIDFILE}",
        f"    hard-stop-after {HARD_STOP_AFTER}",
        "",
        "defaults",
        f"    mode {mode}",
        "    timeout connect 5s",
        "    timeout client 1h",
        "    timeout server 1h",
        *(["    timeout http-request 30s", "    timeout http-keep-alive 10s"] * (mode == "http")),
        "    retries 3",
        "    option redispatch",
        "",
        "frontend balancer",
        f"    bind :{spec.port}",
        *([f"    maxconn {spec.connection_limit}"] * (spec.connection_limit >= 0)),
        "    default_backend members",
        "",
        "backend members",
        f"    balance {method}",
        *_check_lines(spec.check),
        *(_server(b, spec.check) for b in sorted(spec.backends, key=lambda b: b.name)),
    ]
    return "\n".join(lines) + "\n"


def expected_status(codes: str) -> str:
    """``http-check expect`` for Senlin's ``expected_codes``: "200", "200,202", "200-204"."""
    found: list[int] = []
    for part in (p.strip() for p in codes.split(",")):
        if _CODE.match(part):
            found.append(int(part))
        elif match := _RANGE.match(part):
            low, high = int(match[1]), int(match[2])
            if low > high:
                raise BalancerSpecError(f"expected_codes range {part} is empty")
            found.extend(range(low, high + 1))
        else:
            raise BalancerSpecError(f"expected_codes {codes!r}: {part!r} is not a status code")
    unique = sorted(set(found))
    if len(unique) == 1:
        return f"status {unique[0]}"
    return "rstatus ^(" + "|".join(str(c) for c in unique) + ")$"


def _check_lines(check: BalancerCheck | None) -> list[str]:
    if check is None:
        return []
    kind = check.type.upper()
    if kind not in CHECK_TYPES:
        raise BalancerSpecError(f"health monitor type {check.type} is not one of {CHECK_TYPES}")
    lines = [f"    timeout check {max(check.timeout, 1)}s"]
    if kind in ("HTTP", "HTTPS"):
        path = check.url_path or "/"
        if not path.startswith("/") or any(c.isspace() for c in path):
            raise BalancerSpecError(f"url_path {check.url_path!r} is not an absolute path")
        lines += [
            f"    option httpchk GET {path}",
            f"    http-check expect {expected_status(check.expected_codes)}",
        ]
    return lines


def _server(backend: Backend, check: BalancerCheck | None) -> str:
    if not 0 < backend.port < 65536:
        raise BalancerSpecError(f"member {backend.name}: port {backend.port} is not a TCP port")
    if not backend.address or any(c.isspace() for c in backend.address):
        raise BalancerSpecError(f"member {backend.name}: address {backend.address!r} is not valid")
    line = f"    server {_SERVER_NAME.sub('_', backend.name)} {backend.address}:{backend.port}"
    if check is not None:
        line += f" check inter {max(check.delay, 1)}s fall {max(check.max_retries, 1)} rise 1"
        if check.type.upper() == "HTTPS":
            line += " check-ssl verify none"
    return line
