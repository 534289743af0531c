"""Mappers: add or rewrite sample fields (never ``meta``)."""
