"""A small, safe expression language for ``dataset.filter``: parsed here, never ``eval``-ed.

Grammar (keywords are case-insensitive)::

    expr    := or
    or      := and ('or' and)*
    and     := not ('and' not)*
    not     := 'not' not | compare
    compare := sum (('=='|'='|'!='|'<'|'<='|'>'|'>=') sum
               | ['not'] 'in' '(' literal (',' literal)* ')'
               | 'is' ['not'] 'null')?
    sum     := product (('+'|'-') product)*
    product := unary (('*'|'/') unary)*
    unary   := '-' unary | atom
    atom    := number | 'string' | "string" | true | false | null
             | column | [column name] | `column name`
             | func '(' expr (',' expr)* ')' | '(' expr ')'
    func    := startswith | endswith | contains | isnull | lower | upper | length

Example: ``age >= 18 and country in ('FR', 'DE') and not startswith(name, 'test')``.
The parser builds a tree of tuples; ``compile_filter`` turns it into a pyarrow
expression checked against the table's columns.
"""

from __future__ import annotations

import re
from typing import Any

from atelier.core.errors import ValidationError

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<quoted>\[[^\]]+\]|`[^`]+`)
      | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<op>==|!=|<=|>=|<>|[=<>()+\-*/,])
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false"}
_FUNCTIONS = {"startswith", "endswith", "contains", "isnull", "lower", "upper", "length"}
_COMPARE = {
    "==": "eq",
    "=": "eq",
    "!=": "ne",
    "<>": "ne",
    "<": "lt",
    "<=": "le",
    ">": "gt",
    ">=": "ge",
}

Node = tuple[Any, ...]


def _tokens(text: str) -> list[tuple[str, str, int]]:
    found: list[tuple[str, str, int]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValidationError(
                f"cannot read the filter expression at character {position + 1}: "
                f"{text[position : position + 20]!r}; see Dataset.filter for the syntax"
            )
        kind = match.lastgroup or ""
        value = match.group(kind)
        start = match.start(kind) + 1
        if kind == "name" and value.lower() in _KEYWORDS:
            kind, value = "keyword", value.lower()
        found.append((kind, value, start))
        position = match.end()
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _accept(self, kind: str, value: str | None = None) -> bool:
        token = self._peek()
        if token and token[0] == kind and (value is None or token[1] == value):
            self.index += 1
            return True
        return False

    def _expect(self, kind: str, value: str) -> None:
        if not self._accept(kind, value):
            token = self._peek()
            where = f"at character {token[2]}" if token else "at the end"
            raise ValidationError(f"filter expression {self.text!r}: expected {value!r} {where}")

    def parse(self) -> Node:
        if not self.tokens:
            raise ValidationError("the filter expression is empty")
        node = self._or()
        token = self._peek()
        if token is not None:
            raise ValidationError(
                f"filter expression {self.text!r}: unexpected {token[1]!r} at character {token[2]}"
            )
        return node

    def _or(self) -> Node:
        node = self._and()
        while self._accept("keyword", "or"):
            node = ("or", node, self._and())
        return node

    def _and(self) -> Node:
        node = self._not()
        while self._accept("keyword", "and"):
            node = ("and", node, self._not())
        return node

    def _not(self) -> Node:
        if self._accept("keyword", "not"):
            return ("not", self._not())
        return self._compare()

    def _compare(self) -> Node:
        left = self._sum()
        token = self._peek()
        if token and token[0] == "op" and token[1] in _COMPARE:
            self.index += 1
            return (_COMPARE[token[1]], left, self._sum())
        negate = False
        if token and token[0] == "keyword" and token[1] == "not":
            following = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
            if following and following[:2] == ("keyword", "in"):
                self.index += 1
                negate = True
        if self._accept("keyword", "in"):
            self._expect("op", "(")
            values = [self._literal()]
            while self._accept("op", ","):
                values.append(self._literal())
            self._expect("op", ")")
            node: Node = ("in", left, tuple(values))
            return ("not", node) if negate else node
        if self._accept("keyword", "is"):
            negate = self._accept("keyword", "not")
            self._expect("keyword", "null")
            node = ("isnull", left)
            return ("not", node) if negate else node
        return left

    def _literal(self) -> Any:
        node = self._unary()
        if node[0] != "lit":
            raise ValidationError(f"filter expression {self.text!r}: 'in (...)' takes literals")
        return node[1]

    def _sum(self) -> Node:
        node = self._product()
        while (token := self._peek()) and token[0] == "op" and token[1] in "+-":
            self.index += 1
            node = ("add" if token[1] == "+" else "sub", node, self._product())
        return node

    def _product(self) -> Node:
        node = self._unary()
        while (token := self._peek()) and token[0] == "op" and token[1] in "*/":
            self.index += 1
            node = ("mul" if token[1] == "*" else "div", node, self._unary())
        return node

    def _unary(self) -> Node:
        if self._accept("op", "-"):
            inner = self._unary()
            return ("lit", -inner[1]) if inner[0] == "lit" else ("neg", inner)
        return self._atom()

    def _atom(self) -> Node:
        token = self._peek()
        if token is None:
            raise ValidationError(f"filter expression {self.text!r} ends too early")
        kind, value, where = token
        self.index += 1
        if kind == "number":
            return ("lit", float(value) if any(c in value for c in ".eE") else int(value))
        if kind == "string":
            return ("lit", bytes(value[1:-1], "utf-8").decode("unicode_escape"))
        if kind == "quoted":
            return ("col", value[1:-1])
        if kind == "keyword" and value in ("true", "false", "null"):
            return ("lit", {"true": True, "false": False, "null": None}[value])
        if kind == "name":
            if self._accept("op", "("):
                if value.lower() not in _FUNCTIONS:
                    raise ValidationError(
                        f"filter expression {self.text!r}: unknown function {value!r}; use one "
                        f"of {', '.join(sorted(_FUNCTIONS))}"
                    )
                args = [self._or()]
                while self._accept("op", ","):
                    args.append(self._or())
                self._expect("op", ")")
                return ("call", value.lower(), tuple(args))
            return ("col", value)
        if kind == "op" and value == "(":
            node = self._or()
            self._expect("op", ")")
            return node
        raise ValidationError(
            f"filter expression {self.text!r}: unexpected {value!r} at character {where}"
        )


def parse_filter(text: object) -> Node:
    """The expression's tree; ``ValidationError`` saying where it is malformed."""
    if not isinstance(text, str):
        raise ValidationError(f"a filter expression must be a string, not {type(text).__name__}")
    return _Parser(text).parse()


def columns_of(node: Node) -> set[str]:
    if node[0] == "col":
        return {node[1]}
    found: set[str] = set()
    for part in node[1:]:
        if isinstance(part, tuple) and part and isinstance(part[0], str):
            found |= columns_of(part)
        elif isinstance(part, tuple):
            for item in part:
                if isinstance(item, tuple):
                    found |= columns_of(item)
    return found


def compile_filter(text: str, schema: Any) -> Any:
    """A ``pyarrow.compute.Expression`` for ``text`` over a table with ``schema``."""
    node = parse_filter(text)
    missing = sorted(columns_of(node) - set(schema.names))
    if missing:
        raise ValidationError(
            f"filter expression {text!r} names unknown column(s) {missing}; the columns are "
            f"{schema.names}"
        )
    return _compile(node)


def _compile(node: Node) -> Any:
    import pyarrow.compute as pc

    op = node[0]
    if op == "lit":
        return pc.scalar(node[1])
    if op == "col":
        return pc.field(node[1])
    if op == "and":
        return _compile(node[1]) & _compile(node[2])
    if op == "or":
        return _compile(node[1]) | _compile(node[2])
    if op == "not":
        return ~_compile(node[1])
    if op == "isnull":
        return pc.is_null(_compile(node[1]))
    if op == "in":
        return pc.is_in(_compile(node[1]), value_set=_value_set(node[2]))
    if op == "neg":
        return pc.negate(_compile(node[1]))
    binary = {
        "eq": pc.equal,
        "ne": pc.not_equal,
        "lt": pc.less,
        "le": pc.less_equal,
        "gt": pc.greater,
        "ge": pc.greater_equal,
        "add": pc.add,
        "sub": pc.subtract,
        "mul": pc.multiply,
        "div": pc.divide,
    }
    if op in binary:
        return binary[op](_compile(node[1]), _compile(node[2]))
    return _call(node[1], [_compile(arg) for arg in node[2]], node[2])


def _value_set(values: tuple[Any, ...]) -> Any:
    import pyarrow as pa

    try:
        return pa.array(list(values))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValidationError(f"the values of 'in (...)' must share one type: {exc}") from exc


def _call(name: str, args: list[Any], raw: tuple[Node, ...]) -> Any:
    import pyarrow.compute as pc

    if name in ("startswith", "endswith", "contains"):
        if len(raw) != 2 or raw[1][0] != "lit" or not isinstance(raw[1][1], str):
            raise ValidationError(f"{name}(column, 'text') takes a column and a string")
        function = {
            "startswith": pc.starts_with,
            "endswith": pc.ends_with,
            "contains": pc.match_substring,
        }[name]
        return function(args[0], pattern=raw[1][1])
    if len(args) != 1:
        raise ValidationError(f"{name}(...) takes one argument")
    return {
        "isnull": pc.is_null,
        "lower": pc.utf8_lower,
        "upper": pc.utf8_upper,
        "length": pc.utf8_length,
    }[name](args[0])
