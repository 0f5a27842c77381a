"""Checking what tunewise reads back from its own JSON files against a JSON schema, for one-line messages.

Integers are strict (JSON Schema's "integer" also accepts 5.0, and Python's bool is an int): a file whose counts
are floats or true/false was not written by tunewise.
"""

from __future__ import annotations

from functools import cache
from typing import Any

_SCHEMA_TYPES = {"object": "an object", "array": "a list", "string": "a string", "integer": "an integer",
                 "number": "a number", "boolean": "true or false", "null": "null"}


@cache
def _validator_class():
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)).redefine(
        "number", lambda _checker, value: isinstance(value, (int, float)) and not isinstance(value, bool))
    return jsonschema.validators.extend(base, type_checker=checker)


def schema_problem(schema: dict, value: Any, name: str) -> str | None:
    """None if value follows schema, else one line: where in `name` (a file name) and what is wrong."""
    import jsonschema

    error = jsonschema.exceptions.best_match(_validator_class()(schema).iter_errors(value))
    if error is None:
        return None
    where = "".join(f"[{part!r}]" for part in error.absolute_path)
    if error.validator == "type":  # jsonschema's own message would repeat the whole value
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        words = " or ".join(_SCHEMA_TYPES.get(t, str(t)) for t in expected)
        return f"{name}{where} is {json_type(error.instance)}, not {words}"
    text = error.message if len(error.message) <= 200 else error.message[:200] + "…"
    return f"{name}{where or ' (top level)'}: {text}"


def json_type(value: Any) -> str:
    """'a list', 'a string', 'the number 5.0', 'true', … for messages."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, (int, float)):
        try:
            return f"the number {value!r}"[:60]
        except ValueError:  # an integer too long to print
            return "a number with thousands of digits"
    return {dict: "an object", list: "a list", str: "a string"}.get(type(value), type(value).__name__)
