"""The haproxy configuration of a container cluster's balancer, rendered from its spec."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cove.drivers.balancerconfig import BalancerSpecError, expected_status, render
from cove.drivers.containerhost import Backend, BalancerCheck, BalancerSpec

A = Backend("node-a", "10.0.0.2", 32768)
B = Backend("node-b", "10.0.0.3", 32769)
SPEC = BalancerSpec(name="lb", labels={}, port=80, backends=(B, A))
HTTP_CHECK = BalancerCheck("HTTP", delay=2, timeout=1, max_retries=4, url_path="/health")


def lines(spec: BalancerSpec) -> list[str]:
    return [line.strip() for line in render(spec).splitlines()]


@pytest.mark.parametrize(
    ("changes", "present", "absent"),
    [
        ({}, ["mode http", "balance roundrobin", "bind :80"], ["maxconn", "timeout check"]),
        ({"protocol": "TCP"}, ["mode tcp"], ["mode http", "timeout http-request 30s"]),
        ({"protocol": "HTTPS"}, ["mode tcp"], ["mode http"]),
        ({"method": "LEAST_CONNECTIONS"}, ["balance leastconn"], []),
        ({"method": "SOURCE_IP"}, ["balance source"], []),
        ({"port": 8443}, ["bind :8443"], []),
        ({"connection_limit": 100}, ["maxconn 100"], []),
        ({"connection_limit": 0}, ["maxconn 0"], []),
        ({"connection_limit": -1}, [], ["maxconn -1"]),
        (
            {"check": HTTP_CHECK},
            [
                "timeout check 1s",
                "option httpchk GET /health",
                "http-check expect status 200",
                "server node-a 10.0.0.2:32768 check inter 2s fall 4 rise 1",
            ],
            [],
        ),
        (
            {"check": BalancerCheck("TCP", delay=5, timeout=3, max_retries=2)},
            ["timeout check 3s", "server node-b 10.0.0.3:32769 check inter 5s fall 2 rise 1"],
            ["option httpchk GET /"],
        ),
        (
            {"check": BalancerCheck("PING", delay=1, timeout=1, max_retries=1)},
            ["server node-a 10.0.0.2:32768 check inter 1s fall 1 rise 1"],
            ["option httpchk GET /"],
        ),
        (
            {"protocol": "HTTPS", "check": replace(HTTP_CHECK, type="HTTPS")},
            [
                "option httpchk GET /health",
                "server node-a 10.0.0.2:32768 check inter 2s fall 4 rise 1 check-ssl verify none",
            ],
            [],
        ),
        ({"backends": ()}, ["backend members"], ["server node-a 10.0.0.2:32768"]),
        (
            {"backends": (Backend("a b/c", "10.0.0.9", 80),)},
            ["server a_b_c 10.0.0.9:80"],
            [],
        ),
    ],
)
def test_rendering(changes: dict[str, object], present: list[str], absent: list[str]) -> None:
    rendered = lines(replace(SPEC, **changes))  # type: ignore[arg-type]
    for line in present:
        assert line in rendered, (line, rendered)
    for text in absent:
        assert not any(text in line for line in rendered), (text, rendered)


def test_one_server_line_per_backend_in_a_stable_order() -> None:
    servers = [line for line in lines(SPEC) if line.startswith("server ")]
    assert servers == ["server node-a 10.0.0.2:32768", "server node-b 10.0.0.3:32769"]
    # The same members in another order render the same bytes: no reload.
    assert render(SPEC) == render(replace(SPEC, backends=(A, B)))


@pytest.mark.parametrize(
    ("codes", "expect"),
    [
        ("200", "status 200"),
        ("200,202", "rstatus ^(200|202)$"),
        ("200-203", "rstatus ^(200|201|202|203)$"),
        ("204, 200-201", "rstatus ^(200|201|204)$"),
        ("301-301", "status 301"),
    ],
)
def test_expected_codes(codes: str, expect: str) -> None:
    assert expected_status(codes) == expect


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"protocol": "UDP"}, "protocol UDP is not one of HTTP, HTTPS, TCP"),
        ({"method": "RANDOM"}, "lb_method RANDOM is not one of"),
        ({"port": 0}, "port 0 is not a TCP port"),
        ({"port": 65536}, "port 65536 is not a TCP port"),
        ({"check": replace(HTTP_CHECK, type="UDP-CONNECT")}, "health monitor type UDP-CONNECT"),
        ({"check": replace(HTTP_CHECK, url_path="health")}, "url_path 'health' is not"),
        ({"check": replace(HTTP_CHECK, url_path="/a b")}, "is not an absolute path"),
        ({"check": replace(HTTP_CHECK, expected_codes="2xx")}, "'2xx' is not a status code"),
        ({"check": replace(HTTP_CHECK, expected_codes="204-200")}, "range 204-200 is empty"),
        ({"backends": (Backend("x", "10.0.0.2", 0),)}, "member x: port 0 is not a TCP port"),
        ({"backends": (Backend("x", "10.0.0.2 y", 80),)}, "member x: address"),
    ],
)
def test_a_spec_the_balancer_cannot_serve_is_refused(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(BalancerSpecError, match=message.replace("(", r"\(").replace("^", r"\^")):
        render(replace(SPEC, **changes))  # type: ignore[arg-type]
