"""`tunewise endpoints add|list|test|remove`: the OpenAI-compatible endpoints a project compares against."""

from __future__ import annotations

import json

import click

from advisor.cli_output import handle_errors, plain, print_renderable, say

_PROJECT = click.option("--project", default=".", show_default=True, type=click.Path(file_okay=False),
                        help="Project folder (its endpoints.yaml holds the endpoints).")


@click.group()
def endpoints() -> None:
    """OpenAI-compatible chat endpoints (OpenAI, Azure, gateways, vLLM, Ollama, llama.cpp, transformers serve).

    Keys are never stored: an endpoint names the environment variable that holds its key.
    """


@endpoints.command("add")
@click.argument("name")
@click.option("--base-url", required=True, help="The API's base URL, e.g. https://api.openai.com/v1 or http://localhost:8000/v1.")
@click.option("--model", required=True, help="The model name the endpoint expects.")
@click.option("--key-env", help="NAME of the environment variable holding the key (e.g. OPENAI_API_KEY); omit if none is needed.")
@click.option("--price-in", type=float, help="USD per 1M input tokens.")
@click.option("--price-out", type=float, help="USD per 1M output tokens.")
@click.option("--price-date", help="YYYY-MM-DD the prices were read (required with prices).")
@click.option("--price-source", help="Where the prices come from, e.g. the pricing page's URL (required with prices).")
@click.option("--concurrency", type=int, default=4, show_default=True, help="Requests in flight at once.")
@click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True, help="Seconds per request.")
@click.option("--replace", is_flag=True, help="Replace an endpoint of the same name.")
@_PROJECT
@handle_errors
def add(name, base_url, model, key_env, price_in, price_out, price_date, price_source, concurrency, timeout_s,
        replace, project) -> None:
    """Add endpoint NAME; bake-off candidates prompt@NAME and rag@NAME then use it."""
    from advisor.project.endpoints import add_project_endpoint
    from training.endpoints import Endpoint

    endpoint = Endpoint(name=name, base_url=base_url, model=model, api_key_env=key_env, price_in_per_mtok=price_in,
                        price_out_per_mtok=price_out, price_date=price_date, price_source=price_source,
                        concurrency=concurrency, timeout_s=timeout_s)
    add_project_endpoint(project, endpoint, replace_existing=replace)
    say("Added endpoint ", (name, "bold"), ". Check it with `tunewise endpoints test ", name, "`.")


@endpoints.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the endpoints as a JSON array on stdout.")
@_PROJECT
@handle_errors
def list_(as_json, project) -> None:
    """Every configured endpoint: name, URL, model, key variable, prices."""
    from advisor.project.endpoints import project_endpoints
    from training.endpoints.config import endpoint_to_dict

    found = project_endpoints(project)
    if as_json:
        click.echo(json.dumps([endpoint_to_dict(e) for e in found], indent=2, ensure_ascii=False))
        return
    if not found:
        say("No endpoints yet. Add one with `tunewise endpoints add NAME --base-url URL --model M`.")
        return
    from rich.table import Table

    table = Table("name", "base URL", "model", "key variable", "USD / 1M in, out", "price date", box=None)
    for e in found:
        prices = f"{e.price_in_per_mtok:g}, {e.price_out_per_mtok:g}" if e.priced else "-"
        table.add_row(plain(e.name), plain(e.base_url), plain(e.model), plain(e.api_key_env or "-"), prices,
                      plain(e.price_date or "-"))
    print_renderable(table)


@endpoints.command("test")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print latency, tokens and the reply as JSON on stdout.")
@_PROJECT
@handle_errors
def test(name, as_json, project) -> None:
    """Send one short request to NAME and report its latency and reply."""
    from advisor.project.endpoints import try_project_endpoint

    endpoint, reply = try_project_endpoint(project, name)
    result = {"endpoint": endpoint.name, "model": endpoint.model, "latency_s": round(reply.latency_s, 3),
              "tokens_in": reply.tokens_in, "tokens_out": reply.tokens_out, "reply": reply.text}
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    say(("OK", "green"), f" {endpoint.name}: answered in {reply.latency_s:.2f} s "
        f"({reply.tokens_in if reply.tokens_in is not None else '?'} tokens in, "
        f"{reply.tokens_out if reply.tokens_out is not None else '?'} out).", err=False)
    say("Reply: ", reply.text, err=False)


@endpoints.command("remove")
@click.argument("name")
@_PROJECT
@handle_errors
def remove(name, project) -> None:
    """Remove endpoint NAME from the project."""
    from advisor.project.endpoints import remove_project_endpoint

    remove_project_endpoint(project, name)
    say("Removed endpoint ", (name, "bold"), ".")
