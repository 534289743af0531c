"""Provenance filters over source metadata: licences and creators' opt-outs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from plait.errors import ConfigError
from plait.ops.base import DROP, Filter, OpContext
from plait.schema import Sample


class LicenceFilter(Filter):
    """Keep samples whose ``source.licence`` is allowed (case-insensitive).

    ``allow`` (None: any) and ``deny`` lists; ``deny`` wins. Writes ``licence``;
    reasons ``licence_denied``, ``licence_not_allowed``.
    """

    name = "licence"
    example = {"deny": ["unknown"]}

    def __init__(
        self,
        allow: Sequence[str] | None = None,
        deny: Sequence[str] | None = None,
        mode: str = DROP,
    ) -> None:
        super().__init__(mode)
        self.allow = list(allow) if allow is not None else None
        self.deny = list(deny) if deny is not None else None
        self._allow = {a.lower() for a in allow} if allow is not None else None
        self._deny = {d.lower() for d in deny or []}

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        return [{"licence": (s.source.licence or "unknown")} for s in batch]

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        lic = stats["licence"].lower()
        if lic in self._deny:
            return "licence_denied"
        if self._allow is not None and lic not in self._allow:
            return "licence_not_allowed"
        return None


def _truthy_flag(meta: dict[str, Any], flag: str) -> bool:
    """A flag set directly (``noai: true``) or inside a robots-style directive string."""
    for key, value in meta.items():
        k = str(key).lower().replace("-", "_")
        if k == flag and value not in (None, False, 0, "", "false", "0"):
            return True
        if k in ("robots", "x_robots_tag", "meta_robots", "tdm_reservation") and isinstance(
            value, str
        ):
            tokens = {t.strip().lower() for t in value.replace(";", ",").split(",")}
            if flag in tokens:
                return True
    return False


class OptOutFilter(Filter):
    """Drop samples whose creator opted out of AI training.

    Checks ``meta`` flags (``noai``, ``noimageai`` set directly or in a ``robots`` /
    ``x-robots-tag`` directive) and the source URL's domain against an opt-out
    list (``domains`` and/or ``domains_file``, one domain a line; subdomains
    included). Writes ``opt_out`` (the matched flag or domain, or None); reasons
    ``opted_out_flag`` and ``opted_out_domain``.
    """

    name = "opt_out"
    example = {"flags": ["noai", "noimageai"]}

    def __init__(
        self,
        flags: Sequence[str] = ("noai", "noimageai"),
        domains: Sequence[str] | None = None,
        domains_file: str | None = None,
        mode: str = DROP,
    ) -> None:
        super().__init__(mode)
        self.flags = [f.lower() for f in flags]
        self.domains = list(domains) if domains else None
        self.domains_file = domains_file
        listed = set(self.domains or [])
        if domains_file:
            p = Path(domains_file)
            if not p.is_file():
                raise ConfigError(f"domains_file {domains_file!r} does not exist")
            listed |= {
                ln.strip()
                for ln in p.read_text().splitlines()
                if ln.strip() and not ln.startswith("#")
            }
        self._domains = {d.lower().lstrip(".") for d in listed}

    def _domain_hit(self, url: str | None) -> str | None:
        if not url or not self._domains:
            return None
        host = (urlparse(url).hostname or "").lower()
        parts = host.split(".")
        for i in range(len(parts)):
            cand = ".".join(parts[i:])
            if cand in self._domains:
                return cand
        return None

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        out = []
        for s in batch:
            hit = next((f"flag:{f}" for f in self.flags if _truthy_flag(s.meta, f)), None)
            if hit is None:
                dom = self._domain_hit(s.source.url)
                hit = f"domain:{dom}" if dom else None
            out.append({"opt_out": hit})
        return out

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        hit = stats.get("opt_out")
        if hit is None:
            return None
        return "opted_out_flag" if hit.startswith("flag:") else "opted_out_domain"
