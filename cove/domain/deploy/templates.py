"""Config-file templates: Jinja2 text rendered with a deployment's variables (defaults, then
the values given), in a sandbox that also bounds the work a template can do, because a
definition comes from a user and is rendered inside the API process:

- Jinja2's ``SandboxedEnvironment`` (no attribute tricks) with ``StrictUndefined`` (a
  misspelt variable is an error, not an empty string in a config file);
- no macros, call blocks, blocks, includes, imports or recursive loops (the ways a short
  template recurses or multiplies its work), no ``namespace``/``lipsum``/``cycler``/
  ``joiner``; filters and method calls from a list of ones whose output stays near their
  input's size, the others (``join``, ``replace``, ``indent``, ``center``, ``*``, ``**``,
  ``%``) checked before they run;
- a budget of loop iterations and calls per render, and a cap on the rendered size (a swarm
  config or secret holds at most 500 KB).

Errors name the template, with the line where Jinja2 knows it; they never hold a secret
variable's value (it is masked should an error message quote it).
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any

from jinja2 import (
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    meta,
    nodes,
    pass_eval_context,
)
from jinja2.filters import FILTERS
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_OUTPUT = 500 * 1000
MAX_STEPS = 100_000
MAX_RANGE = 10_000
MAX_INDENT = 64
MAX_POWER_BITS = 4096
TEMPLATE_NAME = "<template>"

REFUSED_NODES: dict[type[nodes.Node], str] = {
    nodes.Macro: "macros",
    nodes.CallBlock: "call blocks",
    nodes.Block: "blocks",
    nodes.Extends: "extends",
    nodes.Include: "includes",
    nodes.Import: "imports",
    nodes.FromImport: "imports",
}
SAFE_FILTERS = frozenset(
    [
        "abs",
        "attr",
        "batch",
        "capitalize",
        "count",
        "d",
        "default",
        "dictsort",
        "e",
        "escape",
        "filesizeformat",
        "first",
        "float",
        "groupby",
        "int",
        "items",
        "last",
        "length",
        "list",
        "lower",
        "map",
        "max",
        "min",
        "reject",
        "rejectattr",
        "reverse",
        "round",
        "select",
        "selectattr",
        "slice",
        "sort",
        "string",
        "striptags",
        "sum",
        "title",
        "tojson",
        "trim",
        "truncate",
        "unique",
        "upper",
        "urlencode",
        "wordcount",
        "wordwrap",
    ]
)
SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset(
        [
            "capitalize",
            "count",
            "endswith",
            "find",
            "index",
            "isalnum",
            "isalpha",
            "isdigit",
            "islower",
            "isspace",
            "isupper",
            "lower",
            "lstrip",
            "partition",
            "removeprefix",
            "removesuffix",
            "rfind",
            "rindex",
            "rpartition",
            "rsplit",
            "rstrip",
            "split",
            "splitlines",
            "startswith",
            "strip",
            "title",
            "upper",
        ]
    ),
    dict: frozenset({"get", "items", "keys", "values"}),
    list: frozenset({"count", "index"}),
    LoopContext: frozenset({"cycle", "changed"}),
}
# A printf width or precision: "%0999999999d" would allocate a gigabyte.
_PRINTF_WIDTH = re.compile(r"%[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_FORMAT_WIDTH = re.compile(r"\{[^{}]*:[^{}]*?(\d{5,})")


class RenderError(Exception):
    """A template that cannot be rendered; ``line`` where Jinja2 knows it."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class _TooMuch(SecurityError):
    pass


def _limit(size: int, what: str) -> None:
    if size > MAX_OUTPUT:
        raise _TooMuch(f"{what} would make more than {MAX_OUTPUT} characters")


class _Sandbox(SandboxedEnvironment):
    """One per render: it carries that render's budget."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, finalize: Callable[[Any], Any] | None = None) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            finalize=finalize,
        )
        self.steps = 0
        self.globals.clear()
        self.globals.update(range=self._range, dict=dict, _cove_iterate=self._iterate)
        self.filters = {name: FILTERS[name] for name in SAFE_FILTERS}
        self.filters.update(
            join=self._join, replace=self._replace, indent=self._indent, center=self._center
        )

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _TooMuch(f"more than {MAX_STEPS} loop iterations and calls")

    def _range(self, *args: int) -> range:
        numbers = range(*args)
        if len(numbers) > MAX_RANGE:
            raise _TooMuch(f"a range of more than {MAX_RANGE} numbers")
        return numbers

    def _iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.step()
            yield item

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        __self.step()
        if not _allowed_call(__self, __obj):
            name = getattr(__obj, "__name__", type(__obj).__name__)
            raise SecurityError(f"calling {name!r} is not allowed in a cove template")
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    _limit(len(seq) * times, "repeating a sequence")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            bits = max(abs(left), 2).bit_length() * right
            if bits > MAX_POWER_BITS:
                raise _TooMuch(f"a power of more than {MAX_POWER_BITS} bits")
        elif operator == "%" and isinstance(left, str):
            _check_printf(left)
        return super().call_binop(context, operator, left, right)

    @staticmethod
    @pass_eval_context
    def _join(
        eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None
    ) -> str:
        items = list(value)
        if attribute is None:
            _limit(sum(len(str(x)) for x in items) + len(d) * max(len(items) - 1, 0), "join")
        return str(FILTERS["join"](eval_ctx, items, d, attribute))

    @staticmethod
    def _replace(value: str, old: str, new: str, count: int | None = None) -> str:
        text = str(value)
        found = len(text) + 1 if old == "" else text.count(old)
        if count is not None:
            found = min(found, max(count, 0))
        _limit(len(text) + found * max(len(new) - len(old), 0), "replace")
        return text.replace(old, new, -1 if count is None else count)

    @staticmethod
    def _indent(value: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
        if len(str(width)) > MAX_INDENT or (isinstance(width, int) and width > MAX_INDENT):
            raise _TooMuch(f"an indent wider than {MAX_INDENT}")
        return str(FILTERS["indent"](value, width, first, blank))

    @staticmethod
    def _center(value: str, width: int = 80) -> str:
        _limit(width, "center")
        return str(value).center(width)


def _allowed_call(env: _Sandbox, obj: Any) -> bool:
    if obj is dict or obj in (env._range, env._iterate):
        return True
    owner = getattr(obj, "__self__", None)
    for kind, names in SAFE_METHODS.items():
        if isinstance(owner, kind):
            return getattr(obj, "__name__", None) in names
    return False


def _check_printf(fmt: str) -> None:
    for match in _PRINTF_WIDTH.finditer(fmt):
        for number in match.groups():
            if number == "*" or (number is not None and int(number) > MAX_INDENT * 64):
                raise _TooMuch("a format width above 4096")


def _refused(tree: nodes.Template) -> str | None:
    for kind, what in REFUSED_NODES.items():
        found = next(iter(tree.find_all(kind)), None)
        if found is not None:
            return f"line {found.lineno}: {what} are not allowed in a cove template"
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            return f"line {loop.lineno}: recursive loops are not allowed in a cove template"
    return None


def parse(source: str) -> tuple[nodes.Template, set[str]]:
    """The template's syntax tree and the variables it reads.

    Raises:
        RenderError: a syntax error, or a construct cove refuses, with its line.
    """
    env = _Sandbox()
    try:
        tree = env.parse(source)
        refused = _refused(tree)
        if refused is not None:
            raise RenderError(refused)
        # Compiles the tree: unknown filters and tests are found here.
        reads = set(meta.find_undeclared_variables(tree))
    except TemplateSyntaxError as exc:
        raise RenderError(exc.message or "syntax error", exc.lineno) from None
    except RecursionError:
        raise RenderError("nested too deeply") from None
    return tree, reads - set(env.globals)


def render(
    source: str,
    variables: Mapping[str, Any],
    secrets: Collection[str] = (),
    finalize: Callable[[Any], Any] | None = None,
) -> str:
    """``source`` rendered with ``variables``; ``secrets`` are values masked in errors;
    ``finalize`` turns each ``{{ }}`` value into its text (a package writes YAML values).

    Raises:
        RenderError: syntax, an undefined variable, a refused construct or call, the budget
            or the size cap exceeded; the message never holds a value from ``secrets``.
    """
    tree, _ = parse(source)
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Call(nodes.Name("_cove_iterate", "load"), [loop.iter], [], None, None)
    env = _Sandbox(finalize)
    try:
        template = env.from_string(tree)
        out: list[str] = []
        size = 0
        for chunk in template.generate(dict(variables)):
            size += len(chunk)
            _limit(size, "the rendered file")
            out.append(chunk)
        return "".join(out)
    except RecursionError:
        raise RenderError("nested too deeply") from None
    except Exception as exc:  # a template can raise anything its operations raise
        raise RenderError(_masked(_describe(exc), secrets), _line_of(exc)) from None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TemplateError):
        return exc.message or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"[:300]


def _line_of(exc: BaseException) -> int | None:
    lines = [
        f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == TEMPLATE_NAME
    ]
    return lines[-1] if lines else None


def _masked(message: str, secrets: Collection[str]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        message = message.replace(secret, "***")
    return message
