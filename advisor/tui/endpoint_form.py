"""The Evaluate step's endpoint form as plain functions: an Endpoint from the typed fields, an endpoint as a table row,
a connection test's reply in words. Nothing here imports textual; the endpoints panel only renders these."""

from __future__ import annotations

from typing import TYPE_CHECKING

from curation.errors import UsageError

if TYPE_CHECKING:
    from training.endpoints import Endpoint, Reply

# The form's fields (Endpoint's field names) and their labels; the key field takes a variable's NAME, never a key.
ENDPOINT_FIELDS: dict[str, str] = {
    "name": "Name", "base_url": "Base URL", "model": "Model", "api_key_env": "Key variable",
    "price_in_per_mtok": "Price in /1M", "price_out_per_mtok": "Price out /1M", "price_date": "Price date",
    "price_source": "Price source",
}
PLACEHOLDERS: dict[str, str] = {
    "name": "e.g. gpt4o", "base_url": "e.g. https://api.openai.com/v1", "model": "e.g. gpt-4o-mini",
    "api_key_env": "e.g. OPENAI_API_KEY", "price_in_per_mtok": "USD, optional", "price_out_per_mtok": "USD, optional",
    "price_date": "YYYY-MM-DD", "price_source": "URL of the prices",
}
HELP: dict[str, str] = {
    "name": "A short name: the bake-off lists the endpoint as prompt@NAME and rag@NAME.",
    "base_url": "The OpenAI-compatible API's base URL, usually ending in /v1 (OpenAI, a gateway, vLLM, Ollama…).",
    "model": "The model name the endpoint expects.",
    "api_key_env": "The NAME of the environment variable that holds the key, never the key itself; empty when none is needed.",
    "price_in_per_mtok": "USD per 1M input (prompt) tokens; with the output price, the bake-off reports cost.",
    "price_out_per_mtok": "USD per 1M output (completion) tokens.",
    "price_date": "The day the prices were read (needed with prices).",
    "price_source": "Where the prices come from, e.g. the pricing page (needed with prices).",
}
PRICES = ("price_in_per_mtok", "price_out_per_mtok")


def endpoint_from_form(values: dict[str, str]) -> Endpoint:
    """An Endpoint from the form's text (blank optional fields are None); UsageError names the field that is wrong."""
    from training.endpoints import Endpoint

    fields: dict[str, object] = {}
    for name, label in ENDPOINT_FIELDS.items():
        text = str(values.get(name, "")).strip()
        if name in PRICES and text:
            try:
                fields[name] = float(text)
            except ValueError:
                raise UsageError(f"{label} {text!r} is not a number.", "Type the USD price per 1M tokens, e.g. 0.15, "
                                 "or leave both prices empty.") from None
        elif name in ("name", "base_url", "model"):
            fields[name] = text
        else:
            fields[name] = text or None
    return Endpoint(**fields)  # Endpoint checks the rest (a key typed as the variable name, a price without a date…)


def _price(value: float | None) -> str:
    return "—" if value is None else f"${value:g}"


def endpoint_row(endpoint: Endpoint) -> tuple[str, str, str, str, str, str]:
    """An endpoint as a table row: name, model, base URL, key variable, prices in/out per 1M, price date."""
    prices = f"{_price(endpoint.price_in_per_mtok)} / {_price(endpoint.price_out_per_mtok)}"
    return (endpoint.name, endpoint.model, endpoint.base_url, endpoint.api_key_env or "(none)", prices,
            endpoint.price_date or "—")


def reply_text(endpoint: Endpoint, reply: Reply) -> str:
    """What a connection test measured: latency, tokens and the reply."""
    tokens = "" if reply.tokens_in is None else f", {reply.tokens_in} tokens in, {reply.tokens_out} out"
    return f"{endpoint.name} answered in {reply.latency_s:.2f} s{tokens}:\n{reply.text.strip() or '(an empty reply)'}"
