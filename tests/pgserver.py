"""A private PostgreSQL server for the test suite: own data directory, own port, own user.

Used by the ``postgres_url`` fixture. If ``RULESENGINE_TEST_PG`` holds a URL, that server is used
instead. When no server can be started the PostgreSQL tests skip, except under CI (``CI=true``)
or with ``RULESENGINE_REQUIRE_PG=1``, where that is a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def find_bin() -> Path | None:
    """The directory of initdb/pg_ctl (Debian keeps them under /usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A throwaway server; :meth:`start` returns its URL, :meth:`stop` removes it."""

    def __init__(self) -> None:
        self.bin = find_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="rulesengine-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.user: str | None = None

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)

    def start(self) -> str:
        """Create the cluster and start it; raises RuntimeError with the reason if it cannot."""
        if self.bin is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb) found")
        if os.geteuid() == 0:  # initdb refuses to run as root: use the distribution's user
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise RuntimeError("running as root and there is no 'postgres' user") from exc
            self.user = "postgres"
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        out = self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
        )
        if out.returncode != 0:
            raise RuntimeError(f"initdb failed: {out.stderr.strip()[-500:]}")
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        out = self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )
        if out.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {out.stderr.strip()[-500:]}")
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        """Stop the server and delete its files."""
        if self.bin is not None and self.data.exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def required() -> bool:
    """Whether a skipped PostgreSQL test must count as a failure (in CI)."""
    return (
        os.environ.get("CI", "").lower() == "true"
        or os.environ.get("RULESENGINE_REQUIRE_PG") == "1"
    )
