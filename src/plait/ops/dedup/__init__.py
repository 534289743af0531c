"""Deduplicators: a per-shard fingerprint, then one global resolve."""
