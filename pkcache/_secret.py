"""The per-user secret that signs entries, so a planted file is never unpickled."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from ._log import logger

SECRET_ENV = "PKCACHE_SECRET"
_SECRET_FILE_NAME = "secret"


def default_secret_path() -> Path:
    """Return where the per-user secret lives: outside any cache directory."""
    import platformdirs  # imported here: only the first signing needs it

    return Path(platformdirs.user_config_dir("pkcache")) / _SECRET_FILE_NAME


def _create_secret_file(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_hex(32).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link, not replace: when two processes race to create it, the first one wins
        # and both use its secret.
        os.link(temp, path)
        logger.info("pkcache: created a new signing secret at %s", path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temp)


def load_secret(secret: str | bytes | None = None, secret_file: str | os.PathLike[str] | None = None) -> bytes:
    """Return the 32-byte signing key: from ``secret``, ``secret_file``, ``$PKCACHE_SECRET``, or the user's file.

    The user's file is created (mode 0600, folder 0700) on first use.
    """
    if secret is None and secret_file is None:
        env = os.environ.get(SECRET_ENV)
        if env:
            secret = env
    if secret is None:
        path = Path(secret_file) if secret_file is not None else default_secret_path()
        if secret_file is None and not path.exists():
            _create_secret_file(path)
        secret = path.read_bytes().strip()
    material = secret.encode() if isinstance(secret, str) else secret
    # Hash whatever the user gave into a fixed-size key; the text itself is never logged.
    return hashlib.sha256(b"pkcache-secret-v1\0" + material).digest()
