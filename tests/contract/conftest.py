"""The stores under contract: every test in this folder runs once against each of them.

A store joins the contract by adding one entry to ``STORES``: a context manager that
starts what the store needs (a folder, a server) in the test's scratch folder and yields
a ``Backend`` for it, then stops it. Nothing here is mocked: the Redis backend is a real
``redis-server`` process, started and stopped by its process id; the object-store backend
is a real SeaweedFS server (one per session, a prefix of its bucket per test).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import pkcache
from tests.helpers import python_path

SECRET = "contract-secret-0123456789"


@dataclass
class Backend:
    """A store as a user (and an attacker with write access to it) reaches it."""

    name: str
    location: str  # what Cache(...) and cached(store=...) take
    env: dict[str, str]  # makes it the default store of a child process
    cli: list[str]  # the CLI options that select it
    read_entry: Callable[[str, str, str], bytes | None]  # (namespace, version, key) -> the raw bytes
    write_entry: Callable[[str, str, str, bytes], None]  # write raw bytes at an entry's place
    unavailable: Callable[[], contextlib.AbstractContextManager[None]]  # the store cannot be used meanwhile
    extra: dict[str, Any] = field(default_factory=dict)

    def child_env(self, *folders: Path) -> dict[str, str]:
        """The environment of a fresh interpreter using this store by default."""
        return {**os.environ, **self.env, "PYTHONPATH": python_path(*folders)}


@contextlib.contextmanager
def local_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    root = tmp_path / "store"

    def entry_path(namespace: str, version: str, key: str) -> Path:
        return root / namespace / version / key[:1] / f"{key}.pkl"

    def read_entry(namespace: str, version: str, key: str) -> bytes | None:
        path = entry_path(namespace, version, key)
        return path.read_bytes() if path.exists() else None

    def write_entry(namespace: str, version: str, key: str, data: bytes) -> None:
        path = entry_path(namespace, version, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    @contextlib.contextmanager
    def unavailable() -> Iterator[None]:
        # A file where the cache directory should be: nothing can be read or written.
        aside = tmp_path / "store-aside"
        if root.exists():
            root.rename(aside)
        root.write_text("not a directory")
        try:
            yield
        finally:
            root.unlink()
            if aside.exists():
                aside.rename(root)

    yield Backend(
        "local",
        str(root),
        {"PKCACHE_DIR": str(root), "PKCACHE_SECRET": SECRET},
        ["--dir", str(root)],
        read_entry,
        write_entry,
        unavailable,
        {"root": root},
    )
    shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    redis = pytest.importorskip("redis", reason="the redis extra is not installed (pip install 'pkcache[redis]')")
    from tests.redisserver import RedisServer

    server = RedisServer(tmp_path / "redis")
    server.start()
    client = redis.Redis(port=server.port)

    def read_entry(namespace: str, version: str, key: str) -> bytes | None:
        value: bytes | None = client.get(f"pkcache:e:{namespace}:{version}:{key}")
        return value

    def write_entry(namespace: str, version: str, key: str, data: bytes) -> None:
        client.set(f"pkcache:e:{namespace}:{version}:{key}", data)

    @contextlib.contextmanager
    def unavailable() -> Iterator[None]:
        client.close()
        server.stop()
        try:
            yield
        finally:
            server.start()  # on the same port

    try:
        yield Backend(
            "redis",
            server.url,
            {"PKCACHE_URL": server.url, "PKCACHE_SECRET": SECRET},
            ["--url", server.url],
            read_entry,
            write_entry,
            unavailable,
            {"server": server, "client": client},
        )
    finally:
        client.close()
        server.stop()


@contextlib.contextmanager
def s3_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    server = request.getfixturevalue("s3_server")
    from tests.s3server import BUCKET

    prefix = f"t-{uuid.uuid4().hex[:12]}"
    url = server.url(prefix)
    env = server.env()
    raw = server.client()

    def read_entry(namespace: str, version: str, key: str) -> bytes | None:
        try:
            reply = raw.get_object(Bucket=BUCKET, Key=f"{prefix}/e/{namespace}/{version}/{key}")
        except raw.exceptions.NoSuchKey:
            return None
        data: bytes = reply["Body"].read()
        return data

    def write_entry(namespace: str, version: str, key: str, data: bytes) -> None:
        raw.put_object(Bucket=BUCKET, Key=f"{prefix}/e/{namespace}/{version}/{key}", Body=data)

    @contextlib.contextmanager
    def unavailable() -> Iterator[None]:
        server.stop()
        try:
            yield
        finally:
            server.start()  # on the same ports, with the same data

    yield Backend(
        "s3",
        url,
        {"PKCACHE_URL": url, "PKCACHE_SECRET": SECRET, **env},
        ["--url", url],
        read_entry,
        write_entry,
        unavailable,
        {"server": server, "client": raw, "prefix": prefix},
    )


# Every store pkcache ships. A new one passes the contract by adding its backend here.
STORES: dict[str, Callable[[pytest.FixtureRequest, Path], contextlib.AbstractContextManager[Backend]]] = {
    "local": local_backend,
    "redis": redis_backend,
    "s3": s3_backend,
}


@pytest.fixture(params=sorted(STORES))
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    monkeypatch.setenv("PKCACHE_SECRET", SECRET)
    with STORES[request.param](request, tmp_path) as made:
        for name, value in made.env.items():
            if name.startswith("AWS_"):
                monkeypatch.setenv(name, value)
        yield made


@pytest.fixture
def cache(backend: Backend) -> Iterator[pkcache.Cache]:
    made = pkcache.Cache(backend.location)
    yield made
    made.close()
