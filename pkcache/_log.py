"""The ``pkcache`` logger, made on first use: ``import logging`` alone costs ~5 ms."""

from __future__ import annotations

from typing import Any


class _LazyLogger:
    """Forwards to ``logging.getLogger("pkcache")``, importing logging only when something is logged."""

    def __getattr__(self, name: str) -> Any:
        import logging

        return getattr(logging.getLogger("pkcache"), name)


logger: Any = _LazyLogger()


class Warnings:
    """The first trouble of each kind is a warning; repeats go to debug, not a flood."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, topic: str, message: str, *args: object) -> None:
        level = 10 if topic in self.seen else 30  # logging.DEBUG, logging.WARNING
        self.seen.add(topic)
        logger.log(level, "pkcache: " + message, *args)
