"""What kind of text each view holds (free text, SQL, code, JSON, label, number), and its normalised structure.

Structured views are compared by what they mean, not how they are spelled: SQL through sqlglot (keyword case,
whitespace, table aliases; literals masked only when asked), JSON through ``json`` (key order, spacing), code
through Python's ``ast``/``tokenize`` (formatting, comments). Free text is left to the embeddings.
"""

from __future__ import annotations

import ast
import io
import json
import logging
import math
import tokenize
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

TEXT, SQL, CODE, JSON, LABEL, NUMBER = "text", "sql", "code", "json", "label", "number"
KINDS = (TEXT, SQL, CODE, JSON, LABEL, NUMBER)
STRUCTURED = (SQL, CODE, JSON, LABEL, NUMBER)
VIEW_SHARE = 0.75  # share of a view's non-empty texts of one structured kind for the view to be it (BIG-bench SParC: 82% of its SQL parses; its targets drop LIMIT)
LABEL_WORDS = 4  # a label is one line of at most this many words
MASK = "?"


@dataclass(frozen=True)
class Structure:
    """A text's normalised form for its kind, plus the facts a pair rule cites.

    `facts` are (aspect, value) pairs with repeats, sorted (SQL: table, column, aggregate, operator, logic, clause,
    order, value; code: name, value), so a rule can say what differs ("different operator: > vs <").
    `masked` is True when literal values are hidden (masked on request, placeholders such as `?`, or Spider's
    bare `value`): the structure then cannot tell which entity or value was asked about.
    """

    kind: str
    key: str
    tables: frozenset[str] = field(default_factory=frozenset)
    columns: frozenset[str] = field(default_factory=frozenset)
    facts: tuple[tuple[str, str], ...] = ()
    masked: bool = False


def _sql_expression(text: str):
    """The sqlglot tree of one SQL statement, or None when the text is not a query or a DML/DDL statement."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    logger = logging.getLogger("sqlglot")  # prose falls back to a 'Command' with a warning: not SQL, not news
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        trees = [t for t in sqlglot.parse(text, read="sqlite") if t is not None]
    except (SqlglotError, ValueError, RecursionError):
        return None
    finally:
        logger.setLevel(level)
    if len(trees) != 1 or not isinstance(trees[0], (exp.Query, exp.Insert, exp.Update, exp.Delete, exp.Create)):
        return None
    return trees[0]


def _python_tree(text: str) -> ast.Module | None:
    """The Python syntax tree when the text is a program (more than a bare name or constant), else None."""
    try:
        with warnings.catch_warnings():  # prose read as Python warns about "invalid decimal literal" and the like
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    bare = (ast.Name, ast.Constant, ast.Attribute)
    if not tree.body or all(isinstance(s, ast.Expr) and isinstance(s.value, bare) for s in tree.body):
        return None
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr) and "\n" not in text.strip():
        return None  # one expression on one line ("a or b", "f(x)") reads as text or a label as often as code
    return tree


def detect_kind(text: str) -> str:
    """The kind of one text: number, json, sql, code, label or text (parsed, never pattern-matched)."""
    stripped = text.strip()
    if not stripped:
        return TEXT
    try:
        value = float(stripped.replace(",", "")) if stripped[0] in "+-.0123456789" else None
    except ValueError:
        value = None
    if value is not None and math.isfinite(value):
        return NUMBER
    if stripped[0] in "[{":
        try:
            if isinstance(json.loads(stripped), (dict, list)):
                return JSON
        except ValueError:
            pass
    if _sql_expression(stripped) is not None:
        return SQL
    if _python_tree(stripped) is not None:
        return CODE
    if "\n" not in stripped and len(stripped.split()) <= LABEL_WORDS:
        return LABEL
    return TEXT


def view_kind(texts: Sequence[str]) -> str:
    """The kind of a whole view: a structured kind when at least VIEW_SHARE of its texts are of it, else text.

    A label view also needs few distinct values (at most half the texts): short free-text replies are not labels.
    """
    present = [t for t in texts if t.strip()]
    total = len(present)
    if not total:
        return TEXT
    kinds: Counter[str] = Counter()
    needed = VIEW_SHARE * total
    for done, text in enumerate(present, 1):
        kinds[detect_kind(text)] += 1
        # Parsing a text as SQL and Python takes milliseconds: stop once no structured kind (nor labels and numbers
        # together) can still reach VIEW_SHARE, since the view is then text whatever the remaining texts are.
        left = total - done
        if max(kinds[SQL], kinds[CODE], kinds[JSON], kinds[NUMBER] + kinds[LABEL]) + left < needed:
            return TEXT
    kind, count = kinds.most_common(1)[0]
    if kind == TEXT or count < VIEW_SHARE * total:
        if kinds[NUMBER] + kinds[LABEL] >= VIEW_SHARE * total and kinds[LABEL]:
            kind = LABEL  # labels with a few numeric ones ("1", "2", "other")
        else:
            return TEXT
    if kind == LABEL and len({normalise_label(t) for t in texts}) > max(2, total // 2):
        return TEXT
    return kind


def normalise_sql(text: str, mask_literals: bool = False) -> Structure | None:
    """SQL with keyword case, whitespace and table aliases normalised (literals masked when asked); None if not SQL."""
    from sqlglot import exp

    tree = _sql_expression(text.strip())
    if tree is None:
        return None
    tree = tree.copy()
    # table aliases: a table used once is named by itself; a table used more than once keeps t1, t2 … in order
    tables = list(tree.find_all(exp.Table))
    uses = Counter(t.name.lower() for t in tables)
    rename: dict[str, str] = {}
    for n, table in enumerate(tables, 1):
        alias = table.alias
        name = table.name.lower()
        if alias:
            rename[alias.lower()] = name if uses[name] == 1 else f"t{n}"
            table.set("alias", None if uses[name] == 1 else exp.TableAlias(this=exp.to_identifier(f"t{n}")))
    for column in tree.find_all(exp.Column):
        qualifier = column.table.lower()
        if qualifier:
            column.set("table", exp.to_identifier(rename.get(qualifier, qualifier)))
    masked = any(_is_masked_value(c) for c in tree.find_all(exp.Column)) or tree.find(exp.Placeholder) is not None
    if mask_literals:
        literals = list(tree.find_all(exp.Literal))
        for literal in literals:
            literal.replace(exp.Placeholder())
        masked = masked or bool(literals)
    key = tree.sql(dialect="sqlite", normalize=True, pretty=False)
    names = {t.name.lower() for t in tree.find_all(exp.Table)}
    columns = set()
    for column in tree.find_all(exp.Column):
        if column.table:
            names.add(column.table.lower())
        if column.name and not _is_masked_value(column):
            columns.add(column.name.lower())
    return Structure(SQL, key, frozenset(n for n in names if n), frozenset(columns), _sql_facts(tree), masked)


def _is_masked_value(column) -> bool:
    """Spider/SParC's masked literal: a bare column named `value` compared with something (`age > value`)."""
    from sqlglot import exp

    return (column.name.lower() == "value" and not column.table
            and isinstance(column.parent, (exp.Predicate, exp.Limit, exp.Tuple, exp.Between)))


_SQL_OPERATORS = {"EQ": "=", "NEQ": "!=", "GT": ">", "GTE": ">=", "LT": "<", "LTE": "<=", "Like": "like",
                  "ILike": "like", "In": "in", "Between": "between", "Is": "is", "Exists": "exists",
                  "Add": "+", "Sub": "-", "Mul": "*", "Div": "/"}
_SQL_CLAUSES = {"Where": "where", "Group": "group by", "Having": "having", "Order": "order by", "Limit": "limit",
                "Join": "join", "Distinct": "distinct", "Union": "union", "Intersect": "intersect",
                "Except": "except", "Subquery": "subquery"}


def _sql_facts(tree) -> tuple[tuple[str, str], ...]:
    """What a query is made of, aspect by aspect, with repeats: tables, columns, aggregates, operators, logic, clauses."""
    from sqlglot import exp

    facts: list[tuple[str, str]] = []
    for node in tree.walk():
        name = type(node).__name__
        if isinstance(node, exp.Table):
            facts.append(("table", node.name.lower()))
        elif isinstance(node, exp.Column) and node.name and not _is_masked_value(node):
            facts.append(("column", node.name.lower()))
        elif isinstance(node, exp.AggFunc):
            facts.append(("aggregate", name.lower()))
        elif name in _SQL_OPERATORS:
            facts.append(("operator", _SQL_OPERATORS[name]))
        elif isinstance(node, (exp.And, exp.Or, exp.Not)):
            facts.append(("logic", name.lower()))
        elif name in _SQL_CLAUSES:
            facts.append(("clause", _SQL_CLAUSES[name]))
        elif isinstance(node, exp.Ordered):
            facts.append(("order", "desc" if node.args.get("desc") else "asc"))
        elif isinstance(node, (exp.Literal, exp.Placeholder)):
            facts.append(("value", node.sql(dialect="sqlite")))
        if isinstance(node, exp.Select) and node.args.get("distinct"):
            facts.append(("clause", "distinct"))
    return tuple(sorted(facts))


def _mask_json(value):
    """JSON with every leaf value replaced by its type."""
    if isinstance(value, dict):
        return {k: _mask_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_json(v) for v in value]
    return type(value).__name__


def normalise_json(text: str, mask_literals: bool = False) -> Structure | None:
    """JSON with key order and spacing normalised (leaf values masked when asked); None if not JSON."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if mask_literals:
        value = _mask_json(value)
    return Structure(JSON, json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
                     masked=mask_literals)


class _MaskConstants(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.Constant:  # noqa: N802 - ast's visitor naming
        return ast.copy_location(ast.Constant(value=MASK), node)


def normalise_code(text: str, mask_literals: bool = False) -> Structure | None:
    """Python code with formatting and comments normalised (via ast; tokenize when it does not parse)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        tree = None
    if tree is not None:
        facts = _code_facts(tree)
        if mask_literals:
            tree = _MaskConstants().visit(tree)
        return Structure(CODE, ast.dump(tree, annotate_fields=False), facts=facts,
                         masked=mask_literals and any(a == "value" for a, _ in facts))
    try:  # a fragment that does not parse: compare its tokens without comments, indentation and line breaks
        skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
        parsed = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in skip]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    literal = (tokenize.NUMBER, tokenize.STRING)
    tokens = [MASK if mask_literals and t.type in literal else t.string for t in parsed]
    facts = tuple(sorted(("value" if t.type in literal else "name", t.string) for t in parsed
                         if t.type in literal or t.type == tokenize.NAME))
    return Structure(CODE, " ".join(tokens), facts=facts, masked=mask_literals and any(t.type in literal for t in parsed))


def _code_facts(tree: ast.AST) -> tuple[tuple[str, str], ...]:
    """Names a program defines or uses and the literal values it holds, with repeats."""
    facts: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            facts.append(("name", node.id))
        elif isinstance(node, ast.Attribute):
            facts.append(("name", node.attr))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            facts.append(("name", node.name))
        elif isinstance(node, ast.arg):
            facts.append(("name", node.arg))
        elif isinstance(node, ast.Constant):
            facts.append(("value", repr(node.value)))
    return tuple(sorted(facts))


def normalise_label(text: str) -> str:
    """A label compared without case and surrounding or repeated spaces."""
    return " ".join(text.casefold().split())


def normalise_number(text: str) -> Structure | None:
    """A number compared by value ("1,000" = "1000.0"); None if not a number."""
    try:
        value = float(text.strip().replace(",", ""))
    except ValueError:
        return None
    return Structure(NUMBER, repr(value)) if math.isfinite(value) else None


@lru_cache(maxsize=65536)
def structure_of(text: str, kind: str, mask_literals: bool = False) -> Structure | None:
    """The normalised structure of a text read as `kind`; None when it does not parse as that kind (or kind is text)."""
    if kind == SQL:
        return normalise_sql(text, mask_literals)
    if kind == JSON:
        return normalise_json(text, mask_literals)
    if kind == CODE:
        return normalise_code(text, mask_literals)
    if kind == NUMBER:
        return normalise_number(text)
    if kind == LABEL:
        return Structure(LABEL, normalise_label(text))
    return None
