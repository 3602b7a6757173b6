"""The per-user secret that signs entries, so a planted file is never unpickled.

A secret is refused when it is too short to keep the signing key out of reach: fewer than
``MIN_SECRET_BYTES`` bytes once decoded (a hex string counts half its length). A secret
file owned by another user is refused too (they choose your key); one that others can
read, or that sits in a folder others can write, is used with a warning, which
``pkcache verify`` repeats.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from pathlib import Path

from ._errors import SecretError
from ._log import logger

SECRET_ENV = "PKCACHE_SECRET"
MIN_SECRET_BYTES = 16
_SECRET_FILE_NAME = "secret"
_REGENERATE = "python -c 'import secrets; print(secrets.token_hex(32))'"
_WARNED: set[str] = set()


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
        logger.info("created a new signing secret at %s", path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temp)


def secret_strength(secret: str | bytes) -> int:
    """The bytes a secret is worth: a hex string half its length, other text its UTF-8 length.

    Surrounding whitespace does not count, nor does a secret made of one repeated character.
    """
    text = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret
    text = text.strip()
    if len(set(text)) <= 1:
        return 0
    try:
        return len(bytes.fromhex(text))
    except ValueError:  # not hex: a passphrase, or raw bytes
        return len(secret.strip()) if isinstance(secret, bytes) else len(text.encode())


def check_strength(secret: str | bytes, source: str, remedy: str) -> None:
    """Raise ``SecretError`` if ``secret`` is too short to sign with; ``source`` names where it came from."""
    strength = secret_strength(secret)
    if strength < MIN_SECRET_BYTES:
        blank = "one character repeated" if secret.strip() else "empty"
        what = f"too short ({strength} bytes)" if strength else blank
        raise SecretError(
            f"{source} is {what}: pkcache needs at least {MIN_SECRET_BYTES} bytes of random data to sign entries; "
            f"{remedy}"
        )


def secret_warnings(secret: str | bytes | None = None, secret_file: str | os.PathLike[str] | None = None) -> list[str]:
    """What weakens the secret file in use, if a file is in use: who else can read or replace it."""
    if secret is not None or (secret_file is None and os.environ.get(SECRET_ENV)):
        return []
    path = Path(secret_file) if secret_file is not None else default_secret_path()
    found = []
    targets = [path] if not path.is_symlink() else [path, Path(os.path.realpath(path))]
    for target in targets:
        try:
            info = target.stat()
            folder = target.parent.stat()
        except OSError:  # absent: made private on first use
            continue
        if info.st_mode & (stat.S_IRGRP | stat.S_IROTH | stat.S_IWGRP | stat.S_IWOTH):
            found.append(
                f"secret file {target} can be read by other users (mode {oct(stat.S_IMODE(info.st_mode))}): "
                f"they could sign entries your processes would unpickle; chmod 600 {target}"
            )
        if folder.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not folder.st_mode & stat.S_ISVTX:
            found.append(
                f"secret file {target} is in a folder other users can write ({target.parent}): they could replace it"
            )
    return found


def _read_secret_file(path: Path, *, created: bool) -> bytes:
    info = os.stat(path)
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise SecretError(
            f"secret file {path} belongs to another user (uid {info.st_uid}): refusing to sign with a secret "
            f"someone else controls; make your own with {_REGENERATE} > {path}"
        )
    secret = path.read_bytes().strip()
    remedy = f"regenerate it with {_REGENERATE} > {path} (entries signed with the old one become misses)"
    check_strength(secret, f"secret file {path}", remedy)
    if not created:
        for warning in secret_warnings(None, path):
            if warning not in _WARNED:
                _WARNED.add(warning)
                logger.warning("%s", warning)
    return secret


def load_secret(secret: str | bytes | None = None, secret_file: str | os.PathLike[str] | None = None) -> bytes:
    """Return the 32-byte signing key: from ``secret``, ``secret_file``, ``$PKCACHE_SECRET``, or the user's file.

    The user's file is created (mode 0600, folder 0700) on first use. Raises
    ``SecretError`` for a secret too short to sign with, or a file owned by someone else.
    """
    if secret is None and secret_file is None:
        env = os.environ.get(SECRET_ENV)
        if env is not None:
            check_strength(env, f"${SECRET_ENV}", f"set it to the output of {_REGENERATE}")
            secret = env
    if secret is None:
        path = Path(secret_file) if secret_file is not None else default_secret_path()
        created = secret_file is None and not path.exists()
        if created:
            _create_secret_file(path)
        secret = _read_secret_file(path, created=created)
    else:
        check_strength(secret, "secret=", f"give at least {MIN_SECRET_BYTES} bytes, e.g. the output of {_REGENERATE}")
    material = secret.encode() if isinstance(secret, str) else secret
    # Hash whatever the user gave into a fixed-size key; the text itself is never logged.
    return hashlib.sha256(b"pkcache-secret-v1\0" + material.strip()).digest()
