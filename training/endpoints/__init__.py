"""OpenAI-compatible chat endpoints (OpenAI, Azure, gateways, vLLM, Ollama, llama.cpp, `transformers serve`):
their settings, a client over the official `openai` package, and the cost and latency they measure."""

from training.endpoints.client import ChatCancelled, Reply, chat, chat_many, test_connection
from training.endpoints.config import (
    Endpoint,
    add_endpoint,
    get_endpoint,
    load_endpoints,
    remove_endpoint,
    save_endpoints,
)
from training.endpoints.failures import EndpointError, EndpointFailure
from training.endpoints.measures import EndpointStats, cost_per_1000, endpoint_stats, latency_percentiles

__all__ = [
    "ChatCancelled", "Endpoint", "EndpointError", "EndpointFailure", "EndpointStats", "Reply", "add_endpoint", "chat",
    "chat_many", "cost_per_1000", "endpoint_stats", "get_endpoint", "latency_percentiles", "load_endpoints",
    "remove_endpoint", "save_endpoints", "test_connection",
]
