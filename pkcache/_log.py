"""The ``pkcache`` logger, made on first use: ``import logging`` is not cheap (docs/performance.md)."""

from __future__ import annotations

from typing import Any


class _LazyLogger:
    """Forwards to ``logging.getLogger("pkcache")``, importing logging only when something is logged."""

    real: Any = None

    def __getattr__(self, name: str) -> Any:
        if _LazyLogger.real is None:
            import logging

            _LazyLogger.real = logging.getLogger("pkcache")
        return getattr(_LazyLogger.real, name)


logger: Any = _LazyLogger()


def debugging() -> bool:
    """True if the pkcache logger takes DEBUG records now: each call then logs one line."""
    real = _LazyLogger.real
    return (real if real is not None else logger).isEnabledFor(10)  # type: ignore[no-any-return]


class Warnings:
    """The first trouble of each kind is a warning; repeats go to debug, not a flood."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, topic: str, message: str, *args: object) -> None:
        level = 10 if topic in self.seen else 30  # logging.DEBUG, logging.WARNING
        self.seen.add(topic)
        logger.log(level, message, *args)
