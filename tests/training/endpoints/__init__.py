"""Tests of the OpenAI-compatible endpoint client, against real servers."""
