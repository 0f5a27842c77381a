"""Retrieval-augmented generation over a team's documents.

ingest (read files) → chunk (token chunks with heading paths and spans) → index (FAISS + BM25 + manifest on
disk, incremental) → retrieve (dense, BM25 or hybrid RRF hits) → answer (local model, numbered citations).
"""
