"""OpenAI-compatible endpoints a project names: what they are, what they cost, and the YAML file that lists them.

An endpoint records the *name* of the environment variable that holds its key, never the key itself. Prices are
USD per 1M tokens, each with the date it was read and where from, so a cost can be traced to its source.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from curation.errors import DataError, TunewiseError, UsageError

#: An endpoint's name: used in candidate names like prompt@NAME, so no '@', spaces or slashes.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: An environment variable's name (POSIX portable form).
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
#: Prefixes that real API keys start with (OpenAI, Anthropic, Groq, Hugging Face, xAI, GitHub, Google...).
KEY_PREFIXES = ("sk-", "sk_", "rk-", "gsk_", "hf_", "xai-", "ghp_", "github_pat_", "AIza", "Bearer ")
_KEY_HINT = ("Put the key in an environment variable (for example `export OPENAI_API_KEY=...`) and give the "
             "variable's NAME as the key setting (OPENAI_API_KEY); tunewise never stores keys.")
_FILE_HINT = "Fix the endpoints file, or remove the endpoint and add it again with `tunewise endpoints add`."


@dataclass(frozen=True)
class Endpoint:
    """One OpenAI-compatible chat endpoint: where it is, which model, how to authenticate, what it costs."""

    name: str
    base_url: str
    model: str
    api_key_env: str | None = None  # the NAME of the environment variable holding the key; None: no key needed
    price_in_per_mtok: float | None = None  # USD per 1M input (prompt) tokens
    price_out_per_mtok: float | None = None  # USD per 1M output (completion) tokens
    price_date: str | None = None  # YYYY-MM-DD the prices were read; required with a price
    price_source: str | None = None  # where the prices come from (a URL); required with a price
    concurrency: int = 4  # requests in flight at once
    timeout_s: float = 60.0  # seconds per request before it counts as timed out
    max_retries: int = 2  # retries the openai client makes on connection errors, 408/409/429 and 5xx

    def __post_init__(self) -> None:
        problems = endpoint_problems(self)
        if problems:
            raise UsageError(problems[0], _hint_for(problems[0]))

    @property
    def priced(self) -> bool:
        """Whether both token prices are known."""
        return self.price_in_per_mtok is not None and self.price_out_per_mtok is not None


def looks_like_key(value: str) -> bool:
    """Whether a value given as an environment variable's name looks like an API key itself."""
    text = value.strip()
    if text.startswith(KEY_PREFIXES):
        return True
    # Long random-looking tokens: no valid variable name, or a long mix of lower case, upper case and digits.
    mixed = any(c.islower() for c in text) and any(c.isupper() for c in text) and any(c.isdigit() for c in text)
    return len(text) >= 20 and (not ENV_NAME_PATTERN.match(text) or (mixed and "_" not in text))


def endpoint_problems(endpoint: Endpoint) -> list[str]:
    """Every problem with an endpoint's settings, as messages naming the endpoint and the field (empty if none)."""
    label = f"endpoint {endpoint.name!r}" if isinstance(endpoint.name, str) and endpoint.name else "the endpoint"
    problems: list[str] = []
    if not isinstance(endpoint.name, str) or not NAME_PATTERN.match(endpoint.name):
        problems.append(f"The endpoint name {endpoint.name!r} is not valid: use letters, digits, '.', '_' or '-' "
                        "(at most 64, starting with a letter or digit).")
    problems += _url_problems(endpoint.base_url, label)
    if not isinstance(endpoint.model, str) or not endpoint.model.strip():
        problems.append(f"The {label} needs a model name (the `model` the server expects).")
    problems += _key_problems(endpoint.api_key_env, label)
    problems += _price_problems(endpoint, label)
    if not _is_int(endpoint.concurrency) or endpoint.concurrency < 1:
        problems.append(f"The {label} has concurrency {endpoint.concurrency!r}: it must be a whole number of at least 1.")
    if not _is_number(endpoint.timeout_s) or endpoint.timeout_s <= 0:
        problems.append(f"The {label} has timeout_s {endpoint.timeout_s!r}: it must be a number of seconds above 0.")
    if not _is_int(endpoint.max_retries) or endpoint.max_retries < 0:
        problems.append(f"The {label} has max_retries {endpoint.max_retries!r}: it must be a whole number, 0 or more.")
    return problems


def _url_problems(url: object, label: str) -> list[str]:
    if not isinstance(url, str) or not url.strip():
        return [f"The {label} needs a base URL, like http://localhost:8000/v1."]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return [f"The {label} has the base URL {url!r}: it must start with http:// or https://."]
    if not parts.hostname:
        return [f"The {label} has the base URL {url!r}, which names no host."]
    if parts.username or parts.password:
        return [f"The {label} has a user name or password in its base URL; put the key in an environment variable."]
    return []


def _key_problems(env: object, label: str) -> list[str]:
    if env is None:
        return []
    if not isinstance(env, str) or looks_like_key(env):
        return [f"The {label} was given what looks like an API key as api_key_env (it is not shown here)."]
    if not ENV_NAME_PATTERN.match(env):
        return [f"The {label} has api_key_env {env!r}, which is not an environment variable name "
                "(letters, digits and '_', not starting with a digit)."]
    return []


def _price_problems(endpoint: Endpoint, label: str) -> list[str]:
    problems = []
    prices = {"price_in_per_mtok": endpoint.price_in_per_mtok, "price_out_per_mtok": endpoint.price_out_per_mtok}
    for field_name, price in prices.items():
        if price is not None and (not _is_number(price) or not math.isfinite(price) or price < 0):
            problems.append(f"The {label} has {field_name} {price!r}: a price must be a number of USD, 0 or more.")
    given = [p for p in prices.values() if p is not None]
    if given and len(given) < 2:
        problems.append(f"The {label} has only one of its two prices: give both price_in_per_mtok and "
                        "price_out_per_mtok (USD per 1M input and output tokens).")
    if given:
        if not isinstance(endpoint.price_date, str) or not _is_date(endpoint.price_date):
            problems.append(f"The {label} has a price but price_date is {endpoint.price_date!r}: "
                            "give the date the price was read, as YYYY-MM-DD.")
        if not isinstance(endpoint.price_source, str) or not endpoint.price_source.strip():
            problems.append(f"The {label} has a price but no price_source: say where it comes from (a URL).")
    return problems


def _hint_for(problem: str) -> str:
    if "API key" in problem or "password" in problem:
        return _KEY_HINT
    if "price" in problem:
        return "Prices are USD per 1M tokens, with the date they were read and their source, e.g. the provider's pricing page."
    return "Check the endpoint's settings."


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


# ---- the list of endpoints, as pure functions ----

def get_endpoint(endpoints: list[Endpoint], name: str) -> Endpoint:
    """The endpoint called name; UsageError listing the known names otherwise."""
    for endpoint in endpoints:
        if endpoint.name == name:
            return endpoint
    known = ", ".join(e.name for e in endpoints) or "none yet"
    raise UsageError(f"There is no endpoint called {name!r} (known: {known}).",
                     "Add it with `tunewise endpoints add`, or list them with `tunewise endpoints list`.")


def add_endpoint(endpoints: list[Endpoint], endpoint: Endpoint, replace_existing: bool = False) -> list[Endpoint]:
    """A new list with endpoint added (or replacing the one of the same name when replace_existing)."""
    if any(e.name == endpoint.name for e in endpoints):
        if not replace_existing:
            raise UsageError(f"An endpoint called {endpoint.name!r} already exists.",
                             "Remove it first, or choose another name.")
        return [endpoint if e.name == endpoint.name else e for e in endpoints]
    return [*endpoints, endpoint]


def remove_endpoint(endpoints: list[Endpoint], name: str) -> list[Endpoint]:
    """A new list without the endpoint called name (UsageError if there is none)."""
    get_endpoint(endpoints, name)
    return [e for e in endpoints if e.name != name]


# ---- the YAML file ----

_FIELDS = [f.name for f in fields(Endpoint)]


def endpoint_to_dict(endpoint: Endpoint) -> dict:
    """The endpoint as a plain mapping, without unset optional settings (what the YAML file holds)."""
    defaults = {f.name: f.default for f in fields(Endpoint)}
    return {k: v for k, v in asdict(endpoint).items() if k in ("name", "base_url", "model") or v != defaults[k]}


def endpoint_from_dict(data: object, source: str = "the endpoints file", position: int | None = None) -> Endpoint:
    """An Endpoint from a mapping read from source; DataError naming the source and the endpoint on any problem."""
    where = f"endpoint {position + 1}" if position is not None else "an endpoint"
    if not isinstance(data, dict):
        raise DataError(f"{source}: {where} is not a mapping of settings (name: ..., base_url: ..., model: ...).", _FILE_HINT)
    name = data.get("name")
    if isinstance(name, str) and name:
        where = f"endpoint {name!r}"
    unknown = sorted(str(k) for k in data if k not in _FIELDS)
    if unknown:
        raise DataError(f"{source}: {where} has unknown settings: {', '.join(unknown)}.",
                        f"Known settings: {', '.join(_FIELDS)}.")
    missing = [k for k in ("name", "base_url", "model") if k not in data]
    if missing:
        raise DataError(f"{source}: {where} is missing {', '.join(missing)}.", _FILE_HINT)
    try:
        return Endpoint(**data)
    except TunewiseError as exc:
        raise DataError(f"{source}: {exc.message}", exc.hint or _FILE_HINT) from None
    except TypeError as exc:  # pragma: no cover - unknown keys are caught above
        raise DataError(f"{source}: {where} cannot be read: {exc}.", _FILE_HINT) from None


def load_endpoints(path: str | Path) -> list[Endpoint]:
    """The endpoints listed in a YAML file ([] when the file does not exist); DataError naming the file otherwise."""
    from curation.safe_read import read_yaml_file

    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return []
    data = read_yaml_file(path, "endpoints file", hint=_FILE_HINT)
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("endpoints", []), list):
        raise DataError(f"{path}: the endpoints file must hold `endpoints:` followed by a list of endpoints.", _FILE_HINT)
    endpoints = [endpoint_from_dict(item, str(path), i) for i, item in enumerate(data.get("endpoints") or [])]
    seen: set[str] = set()
    for endpoint in endpoints:
        if endpoint.name in seen:
            raise DataError(f"{path}: endpoint {endpoint.name!r} is listed twice.", "Keep one of them.")
        seen.add(endpoint.name)
    return endpoints


def save_endpoints(path: str | Path, endpoints: list[Endpoint]) -> None:
    """Write the endpoints to a YAML file atomically (names of key variables only, never keys)."""
    import yaml

    from curation.files import output_error, write_text_atomic

    text = yaml.safe_dump({"endpoints": [endpoint_to_dict(e) for e in endpoints]}, sort_keys=False, allow_unicode=True)
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise output_error(exc, path, "endpoints file") from None
