"""Filters: score each sample, then keep or drop it with a short reason."""
