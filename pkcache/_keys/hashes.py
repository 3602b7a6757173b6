"""The hash keys and fingerprints are made with: BLAKE3 (docs/performance.md says why)."""

from __future__ import annotations

import blake3


def new_hash(data: bytes = b"") -> blake3.blake3:
    """Return a fresh instance of the hash keys are made with."""
    return blake3.blake3(data)


def parallel_hash() -> blake3.blake3:
    """Return a hash for large buffers, which it hashes on every core."""
    return blake3.blake3(max_threads=blake3.blake3.AUTO)
