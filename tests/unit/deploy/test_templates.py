# ruff: noqa: E501  (tables read best one case a line)
from __future__ import annotations

import time

import pytest

from cove.domain.deploy import templates
from cove.domain.deploy.templates import RenderError


def test_renders_with_variables_and_keeps_the_last_line_break() -> None:
    assert (
        templates.render("host = {{ host }}\nport = {{ port }}\n", {"host": "db", "port": 5432})
        == "host = db\nport = 5432\n"
    )


def test_useful_filters_and_methods_work() -> None:
    source = "{{ s.split(',')|join('-') }} {{ s|upper }} {{ s|replace(',', ';') }} {{ range(3)|list }} {% for i in range(2) %}{{ loop.cycle('a', 'b') }}{% endfor %} {{ d.get('k') }} {{ s|indent(2) }}"
    assert templates.render(source, {"s": "a,b", "d": {"k": 1}}) == "a-b A,B a;b [0, 1, 2] ab 1 a,b"


def test_parse_tells_the_variables_read() -> None:
    _, reads = templates.parse("{{ a }}{% for x in b %}{{ x }}{% endfor %}{{ range(1) }}")
    assert reads == {"a", "b"}


@pytest.mark.parametrize(
    ("source", "variables", "expected"),
    [
        ("a\n{{ nope }}", {}, "line 2: 'nope' is undefined"),
        ("a\nb\n{% if %}", {}, "line 3: Expected an expression, got 'end of statement block'"),
        ("{{ x.y }}", {"x": "s"}, "line 1: 'str object' has no attribute 'y'"),
        (
            "{{ x + 1 }}",
            {"x": "s"},
            'line 1: TypeError: can only concatenate str (not "int") to str',
        ),
        ("{% macro f() %}{% endmacro %}", {}, "line 1: macros are not allowed in a cove template"),
        ("{% block b %}{% endblock %}", {}, "line 1: blocks are not allowed in a cove template"),
        ("{% include 'x' %}", {}, "line 1: includes are not allowed in a cove template"),
        ("{% import 'x' as y %}", {}, "line 1: imports are not allowed in a cove template"),
        ("{% extends 'x' %}", {}, "line 1: extends are not allowed in a cove template"),
        (
            "{% call f() %}{% endcall %}",
            {},
            "line 1: call blocks are not allowed in a cove template",
        ),
        (
            "{% for x in y recursive %}{% endfor %}",
            {"y": []},
            "line 1: recursive loops are not allowed in a cove template",
        ),
        (
            "{{ ''.__class__.__mro__ }}",
            {},
            "line 1: access to attribute '__class__' of 'str' object is unsafe.",
        ),
        ("{{ 'x'.format(1) }}", {}, "line 1: calling 'format' is not allowed in a cove template"),
        (
            "{{ 'x'.center(10**9) }}",
            {},
            "line 1: calling 'center' is not allowed in a cove template",
        ),
        ("{{ lipsum(10**6) }}", {}, "line 1: 'lipsum' is undefined"),
        ("{% set n = namespace(x=1) %}", {}, "line 1: 'namespace' is undefined"),
        ("{{ 'x'|format(1) }}", {}, "line 1: No filter named 'format'."),
        ("{{ 'x'|random }}", {}, "line 1: No filter named 'random'."),
    ],
)
def test_failures_name_the_line_and_the_reason(
    source: str, variables: dict[str, object], expected: str
) -> None:
    with pytest.raises(RenderError) as info:
        templates.render(source, variables)
    assert str(info.value) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{% for i in range(100000) %}{% endfor %}", "a range of more than 10000 numbers"),
        (
            "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
            "more than 100000 loop iterations and calls",
        ),
        (
            "{% for a in s %}{% for b in s %}{% for c in s %}{% endfor %}{% endfor %}{% endfor %}",
            "more than 100000 loop iterations and calls",
        ),
        ("{{ 'x' * 10**9 }}", "repeating a sequence would make more than 500000 characters"),
        ("{{ [1] * 10**9 }}", "repeating a sequence would make more than 500000 characters"),
        ("{{ 10 ** (10 ** 6) }}", "a power of more than 4096 bits"),
        ("{{ '%0999999999d' % 1 }}", "a format width above 4096"),
        ("{{ '%*d' % (10**9, 1) }}", "a format width above 4096"),
        ("{{ s|replace('', s)|replace('', s) }}", "replace would make more than 500000 characters"),
        ("{{ range(10000)|join(s * 100) }}", "join would make more than 500000 characters"),
        ("{{ s|indent(10**9) }}", "an indent wider than 64"),
        ("{{ s|center(10**9) }}", "center would make more than 500000 characters"),
        (
            "{% for i in range(10000) %}{{ s }}{% endfor %}",
            "the rendered file would make more than 500000 characters",
        ),
    ],
)
def test_work_and_size_are_bounded(source: str, expected: str) -> None:
    started = time.monotonic()
    with pytest.raises(RenderError) as info:
        templates.render(source, {"s": "a" * 4096})
    assert expected in str(info.value)
    assert time.monotonic() - started < 10


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(RenderError):
        templates.render("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", {})


def test_secret_values_are_masked_in_errors() -> None:
    with pytest.raises(RenderError) as info:
        templates.render("{{ '%d' % pw }}", {"pw": "hunter2-secret"}, secrets=["hunter2-secret"])
    assert "hunter2" not in str(info.value)
    with pytest.raises(RenderError) as info:
        templates.render("{{ pw[100] }}", {"pw": "hunter2-secret"}, secrets=["hunter2-secret"])
    assert "hunter2" not in str(info.value)


def test_unicode_renders_as_it_is() -> None:
    assert (
        templates.render("{{ v }} ☃ {{ v|upper }}", {"v": "grüße 日本"})
        == "grüße 日本 ☃ GRÜSSE 日本"
    )


def test_finalize_writes_each_value() -> None:
    assert templates.render("a: {{ v }}", {"v": "x\ny: 1"}, finalize=repr) == "a: 'x\\ny: 1'"
