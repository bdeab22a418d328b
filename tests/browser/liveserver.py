"""Run the real app under gunicorn on demo data, for browser and multi-worker tests.

The server is a real subprocess, as in production: several worker processes
sharing one data folder, so what the tests see is what a deployment does. It
binds port 0 and reads the port gunicorn chose from its log, so two test
sessions on one machine never race for a port. Its stderr and access log go to
files, never to pipes, because a full pipe would stall the server.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# pid, method, path (no query string), status, and the X-Test-Client request header:
# enough to tell which worker served which client, and nothing from the body.
ACCESS_LOG_FORMAT = "%(p)s %(m)s %(U)s %(s)s %({x-test-client}i)s"

_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
_BOOTED = re.compile(r"Booting worker with pid: (\d+)")
_EXITED = re.compile(r"Worker exiting \(pid: (\d+)\)")


def server_env(data_dir: Path) -> dict[str, str]:
    """The environment for the app's subprocesses: development settings on ``data_dir``.

    A fixed secret key is passed in so the workers agree on it without touching
    the instance folder shared with the developer's own server.
    """
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("FLASK_", "TRACKER_")):
            del env[name]
    env.update(
        TRACKER_ENV="development",
        TRACKER_DATA_DIR=str(data_dir),
        TRACKER_SECRET_KEY=secrets.token_urlsafe(48),
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p),
        PYTHONUNBUFFERED="1",
    )
    return env


_demo_copy: Path | None = None


def load_demo(data_dir: Path, timeout: float = 180) -> None:
    """Put the demo data into ``data_dir``, made by the app's own ``flask demo --no-serve``.

    The demo is generated once per test run and copied for each server, so the
    browser tests and the multi-worker tests do not each pay for it. It is made
    in /dev/shm when there is one: the demo makes thousands of small atomic
    writes, and on ext4 each replace of an existing file also flushes it, which on
    this busy shared disk took 26-33 s against 5 s in memory. The servers then
    work on their copies on a real disk.
    """
    global _demo_copy
    if _demo_copy is None:
        _demo_copy = _generate_demo(timeout)
    shutil.copytree(_demo_copy, data_dir, dirs_exist_ok=True)


def _generate_demo(timeout: float) -> Path:
    shm = Path("/dev/shm")
    in_memory = shm.is_dir() and os.access(shm, os.W_OK)
    scratch = Path(tempfile.mkdtemp(prefix="tracker-demo-", dir=shm if in_memory else None))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    target = scratch / "data"
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "tracker", "demo", "--no-serve"],
        cwd=REPO_ROOT,
        env=server_env(target),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0 or not (target / "system").is_dir():
        raise RuntimeError(
            f"`flask demo --no-serve` failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return target


def _gunicorn_knows(setting: str) -> bool:
    from gunicorn.config import KNOWN_SETTINGS

    return any(s.name == setting for s in KNOWN_SETTINGS)


@dataclass
class LiveServer:
    """A running gunicorn: its address, process and log files."""

    url: str
    process: subprocess.Popen
    data_dir: Path
    error_log: Path
    access_log: Path
    workers: int
    _stopped: bool = field(default=False, repr=False)

    def log(self) -> str:
        return self.error_log.read_text(errors="replace")

    def access_lines(self) -> list[list[str]]:
        """Access log lines split into [pid, method, path, status, client]."""
        if not self.access_log.exists():
            return []
        lines = self.access_log.read_text(errors="replace").splitlines()
        return [line.split(" ", 4) for line in lines if line.count(" ") >= 4]

    def worker_pids(self) -> set[str]:
        """Pids of the workers that are running now (booted and not exited)."""
        log = self.log()
        return set(_BOOTED.findall(log)) - set(_EXITED.findall(log))

    def problems(self) -> list[str]:
        """Server errors, tracebacks and worker deaths in the server's log.

        Workers exit when the server is stopped, so after ``stop()`` that is not one.
        """
        bad = [" status=5", "Traceback", "[ERROR]", "[CRITICAL]", "WORKER TIMEOUT"]
        if not self._stopped:
            bad.append("Worker exiting")
        return [line for line in self.log().splitlines() if any(b in line for b in bad)]

    def stop(self) -> None:
        """Stop gunicorn: SIGTERM, then SIGKILL to its whole process group."""
        self._stopped = True
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        if self.process.poll() is None:
            # Still running (so its process group id cannot have been reused): the
            # group is the one start_gunicorn made, gunicorn's master and workers.
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def start_gunicorn(
    data_dir: Path, log_dir: Path, *, workers: int = 2, boot_timeout: float = 60
) -> LiveServer:
    """Start gunicorn with ``workers`` sync workers on 127.0.0.1 and wait for /healthz."""
    log_dir.mkdir(parents=True, exist_ok=True)
    error_log = log_dir / "gunicorn.log"
    access_log = log_dir / "access.log"
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        "127.0.0.1:0",
        "--graceful-timeout",
        "5",
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        ACCESS_LOG_FORMAT,
    ]
    if _gunicorn_knows("control_socket_disable"):
        # gunicorn 24+ opens a control socket at one fixed path in $HOME, which
        # two servers (or a developer's own gunicorn) would fight over.
        cmd.append("--no-control-socket")
    cmd.append("tracker:create_app()")
    with error_log.open("wb") as err:
        process = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=server_env(data_dir),
            stdout=err,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = LiveServer("", process, data_dir, error_log, access_log, workers)
    try:
        server.url = _wait_until_ready(server, boot_timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_ready(server: LiveServer, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    url = ""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with {server.process.returncode}:\n{server.log()[-5000:]}"
            )
        if not url:
            match = _LISTENING.search(server.log())
            url = f"http://127.0.0.1:{match.group(1)}" if match else ""
        if url and len(server.worker_pids()) >= server.workers:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return url
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not become ready in {timeout} s:\n{server.log()[-5000:]}")
