"""A project's OpenAI-compatible endpoints: list, add, remove and test them (endpoints.yaml, key names only)."""

from __future__ import annotations

from pathlib import Path

from advisor.project.layout import Layout
from training.endpoints import (
    Endpoint,
    Reply,
    add_endpoint,
    get_endpoint,
    load_endpoints,
    remove_endpoint,
    save_endpoints,
    test_connection,
)


def project_endpoints(root: str | Path) -> list[Endpoint]:
    """The endpoints configured in the project at root ([] when none)."""
    return load_endpoints(Layout(Path(root)).endpoints)


def add_project_endpoint(root: str | Path, endpoint: Endpoint, replace_existing: bool = False) -> list[Endpoint]:
    """Add (or replace) an endpoint in the project's endpoints.yaml; the new list."""
    path = Layout(Path(root)).endpoints
    endpoints = add_endpoint(load_endpoints(path), endpoint, replace_existing)
    save_endpoints(path, endpoints)
    return endpoints


def remove_project_endpoint(root: str | Path, name: str) -> list[Endpoint]:
    """Remove the endpoint called name from the project's endpoints.yaml; the new list."""
    path = Layout(Path(root)).endpoints
    endpoints = remove_endpoint(load_endpoints(path), name)
    save_endpoints(path, endpoints)
    return endpoints


def try_project_endpoint(root: str | Path, name: str) -> tuple[Endpoint, Reply]:
    """Send one short request to the endpoint called name; the endpoint and its reply (EndpointError on failure)."""
    endpoint = get_endpoint(project_endpoints(root), name)
    return endpoint, test_connection(endpoint)
