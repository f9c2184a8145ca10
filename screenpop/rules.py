"""The highlight rules' small language: one comparison of a field of a section's data with
literals, parsed here (never evaluated as code) and checked against a record.

Grammar::

    rule    := path OP literal | path "in" list | path "not" "in" list
    OP      := ">" | ">=" | "<" | "<=" | "==" | "!="
    path    := name ("." name)*            (a field, or a field of a field)
    list    := "[" [literal ("," literal)* [","]] "]"
    literal := number | "text" | 'text' | true | false | null

A rule is not raised when its field is missing from the record, or when the value and the
literal cannot be compared (``balance > 0`` with a text balance that is not a number).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Literal = float | int | str | bool | None

ORDERING = frozenset({">", ">=", "<", "<="})
OPERATORS = ORDERING | {"==", "!=", "in", "not in"}

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>>=|<=|==|!=|>|<)
    | (?P<punct>[\[\],])
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_WORDS = {"true": True, "false": False, "null": None}
_ESCAPE = re.compile(r"\\(.)")
PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


class RuleError(ValueError):
    """A rule that does not parse; the message says where and what was expected."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    at: int


@dataclass(frozen=True, slots=True)
class Rule:
    """One parsed rule: `field` `op` `value` (a tuple of literals for `in` / `not in`)."""

    field: str
    op: str
    value: Literal | tuple[Literal, ...]

    def raised(self, record: Mapping[str, Any]) -> bool:
        """True when the record has the field and the comparison holds."""
        found, actual = lookup(record, self.field)
        if not found:
            return False
        if self.op in ("in", "not in"):
            assert isinstance(self.value, tuple)
            member = any(_equal(actual, v) for v in self.value)
            return member if self.op == "in" else not member
        assert not isinstance(self.value, tuple)
        if self.op == "==":
            return _equal(actual, self.value)
        if self.op == "!=":
            return not _equal(actual, self.value)
        return _ordered(actual, self.op, self.value)


def lookup(record: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """The value at a dotted `path` of `record`: (False, None) when any part is missing."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _number(value: Any) -> float | None:
    """A number, or a text that spells one (back offices send amounts as text too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _equal(actual: Any, literal: Literal) -> bool:
    if literal is None or isinstance(literal, bool):
        return actual is literal
    if isinstance(literal, str):
        return isinstance(actual, str) and actual == literal
    number = _number(actual)
    return number is not None and number == float(literal)


def _ordered(actual: Any, op: str, literal: Literal) -> bool:
    left: Any
    right: Any
    if isinstance(literal, str):
        if not isinstance(actual, str):
            return False
        left, right = actual, literal
    else:
        left, right = _number(actual), literal
        if left is None or right is None or isinstance(right, bool):
            return False
    if op == ">":
        return bool(left > right)
    if op == ">=":
        return bool(left >= right)
    if op == "<":
        return bool(left < right)
    return bool(left <= right)


def tokenize(text: str) -> list[Token]:
    """The rule's tokens; RuleError for a character that starts none."""
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "bad"
        token = Token(kind, match.group(kind), match.start(kind))
        if kind == "bad":
            raise RuleError(f"unexpected {token.text!r} at character {token.at + 1}")
        tokens.append(token)
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str) -> Token:
        token = self.peek()
        if token is None:
            raise RuleError(f"expected {expected}, found the end of the rule")
        self.pos += 1
        return token

    def fail(self, token: Token, expected: str) -> RuleError:
        return RuleError(f"expected {expected}, found {token.text!r} at character {token.at + 1}")

    def rule(self) -> Rule:
        field = self.take("a field name")
        if field.kind != "word" or field.text in _WORDS or field.text in ("in", "not"):
            raise self.fail(field, "a field name")
        op = self.operator()
        value = self.values() if op in ("in", "not in") else self.literal()
        extra = self.peek()
        if extra is not None:
            raise self.fail(extra, "the end of the rule")
        return Rule(field.text, op, value)

    def operator(self) -> str:
        expected = "an operator (> >= < <= == != in, not in)"
        token = self.take(expected)
        if token.kind == "op":
            return token.text
        if token.kind == "word" and token.text == "in":
            return "in"
        if token.kind == "word" and token.text == "not":
            after = self.take('"in" after "not"')
            if after.kind == "word" and after.text == "in":
                return "not in"
            raise self.fail(after, '"in" after "not"')
        raise self.fail(token, expected)

    def literal(self) -> Literal:
        expected = "a number, a quoted text, true, false or null"
        token = self.take(expected)
        if token.kind == "number":
            number = float(token.text)
            return int(number) if number.is_integer() and "." not in token.text else number
        if token.kind == "string":
            return _ESCAPE.sub(r"\1", token.text[1:-1])
        if token.kind == "word" and token.text in _WORDS:
            return _WORDS[token.text]
        raise self.fail(token, expected)

    def values(self) -> tuple[Literal, ...]:
        opening = self.take('a list such as ["D", "E"]')
        if opening.text != "[":
            raise self.fail(opening, 'a list such as ["D", "E"]')
        items: list[Literal] = []
        while True:
            token = self.peek()
            if token is not None and token.text == "]":
                self.pos += 1
                return tuple(items)
            items.append(self.literal())
            after = self.take('"," or "]"')
            if after.text == "]":
                return tuple(items)
            if after.text != ",":
                raise self.fail(after, '"," or "]"')


@functools.lru_cache(maxsize=1024)
def parse_rule(text: str) -> Rule:
    """Parse a rule (cached: the same configured text is parsed once). RuleError if it does not
    follow the grammar in this module's docstring; ordering (``>`` ...) needs a number or a text
    literal."""
    rule = _Parser(text).rule()
    if rule.op in ORDERING and (rule.value is None or isinstance(rule.value, bool)):
        raise RuleError(f"{rule.op} compares with a number or a text, not {text.split()[-1]}")
    return rule
