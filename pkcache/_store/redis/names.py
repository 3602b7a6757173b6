"""The keys of a Redis store, all under its prefix (see ``store`` for the whole list)."""

from __future__ import annotations


class Names:
    """Key names under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def key(self, kind: str, namespace: str | None = None) -> str:
        return f"{self.prefix}:{kind}" if namespace is None else f"{self.prefix}:{kind}:{namespace}"

    def entry(self, namespace: str, field: str) -> str:
        return f"{self.prefix}:e:{namespace}:{field}"

    def totals(self, namespace: str) -> list[str]:
        return [self.key("t", namespace), self.key("t")]

    def removal(self, namespace: str, field: str) -> list[str]:
        """The keys the REMOVE script touches: the entry, its index, its totals."""
        return [self.entry(namespace, field), self.key("i", namespace), *self.totals(namespace)]

    @staticmethod
    def location(where: str, namespace: str, version: str, key: str) -> str:
        """An entry's location as messages and listings show it."""
        return f"{where}/{namespace}/{version}/{key}"
