"""Shared pieces of the serving benchmarks: a database with packs, gunicorn processes (`serve`, which the
tests use too), wrk runs, RSS."""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
SECRET_KEY = "bench-secret-key-0123456789-0123456789-abcdef"
GENEROUS = "1000000 per minute"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- The database -------------------------------------------------------------------------------------

@dataclass
class BenchData:
    url: str
    tokens: list[str]
    tokens_file: str


def build_database(url: str, workdir: str, packs: int = 2000, history: int = 20000) -> BenchData:
    """Migrate `url`, seed the campaigns and cases, add `packs` packs of 1,000 cards and `history`
    earlier reports (so lookups and totals run against a realistic table, not an empty one)."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from app import create_app, seeding
    from app.extensions import db
    from app.models import Case, Pack, Report, ReportSource
    from app.packs.codes import new_code, new_token

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY, "WEBHOOK_WORKER": False})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        upgrade()
        seeding.seed()
        case_ids = list(db.session.scalars(sa.select(Case.id)))
        now = datetime.now(timezone.utc)
        rows = [{"case_id": case_ids[i % len(case_ids)], "size": 1000, "token": new_token(), "code": new_code(),
                 "cards_posted": 0, "created_at": now} for i in range(packs)]
        db.session.execute(sa.insert(Pack), rows)
        db.session.commit()
        ids = list(db.session.execute(sa.select(Pack.id, Pack.case_id, Pack.token).order_by(Pack.id)))
        rng = random.Random(1)
        reports, posted = [], {}
        for n in range(history):
            pack_id, case_id, _ = ids[rng.randrange(len(ids))]
            if posted.get(pack_id, 0) >= 100:
                continue
            posted[pack_id] = posted.get(pack_id, 0) + 1
            reports.append({"pack_id": pack_id, "case_id": case_id, "cards": 1, "source": ReportSource.PAGE,
                            "idempotency_key": f"history-{n}", "created_at": now - timedelta(minutes=n),
                            "voided": False, "void_reason": ""})
        for start in range(0, len(reports), 5000):
            db.session.execute(sa.insert(Report), reports[start:start + 5000])
        for pack_id, count in posted.items():
            db.session.execute(sa.update(Pack).where(Pack.id == pack_id).values(cards_posted=count))
        db.session.commit()
        tokens = [t for _, _, t in ids]
        db.engine.dispose()
    tokens_file = os.path.join(workdir, "tokens.txt")
    Path(tokens_file).write_text("\n".join(tokens) + "\n")
    return BenchData(url, tokens, tokens_file)


def sqlite_url(workdir: str, name: str = "bench.sqlite") -> str:
    return "sqlite:///" + os.path.join(workdir, name)


def copy_sqlite(url: str, name: str) -> str:
    """A copy of a (closed) SQLite database next to it: each server measured starts from the same data."""
    src = url.removeprefix("sqlite:///")
    dst = os.path.join(os.path.dirname(src), name)
    shutil.copyfile(src, dst)
    return "sqlite:///" + dst


def count_sql(url: str, query: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql(query).scalar() or 0)
    finally:
        engine.dispose()


# --- gunicorn -----------------------------------------------------------------------------------------

@dataclass
class Server:
    process: subprocess.Popen
    port: int
    base: str

    def worker_pids(self) -> list[int]:
        path = f"/proc/{self.process.pid}/task/{self.process.pid}/children"
        try:
            return [int(p) for p in Path(path).read_text().split()]
        except OSError:
            return []

    def worker_rss_mb(self) -> list[float]:
        return [rss_mb(pid) for pid in self.worker_pids()]

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the master and its workers (from /proc/<pid>/stat),
        including workers that exited: gunicorn recycles a worker after `max_requests`, and the master's
        cutime/cstime hold the CPU of the children it reaped (without them a recycled worker's time
        vanished from the count mid-run, giving a fast server a too small, even negative, figure)."""
        return cpu_seconds(self.process.pid, children=True) + sum(cpu_seconds(pid) for pid in self.worker_pids())


def cpu_seconds(pid: int, children: bool = False) -> float:
    """utime + stime of one process (with `children`: + cutime + cstime of its reaped children), in
    seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident set size of a process from /proc/<pid>/status (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment a production instance gets (generous rate limits: wrk is one client)."""
    env = dict(os.environ)
    env.update({
        "APP_ENV": "production", "SECRET_KEY": SECRET_KEY, "DATABASE_URL": database_url,
        "WEBHOOK_WORKER": "0", "ACCESS_LOG": "off", "LOG_LEVEL": "warning",
        "SQLITE_SYNCHRONOUS": "FULL", "SESSION_COOKIE_SECURE": "0",
        "RATELIMIT_REPORT_PER_IP": GENEROUS, "RATELIMIT_REPORT_PER_PACK": GENEROUS,
        "RATELIMIT_PACK_MISSES_PER_IP": GENEROUS, "RATELIMIT_CODE_LOOKUPS_PER_IP": GENEROUS,
        "API_RATE_LIMIT": GENEROUS,
    })
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # nosec B310 - loopback
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def serve(*args: str, env: dict[str, str], conf: bool = False, ready_path: str = "/healthz", workers: int = 0,
          stdout=subprocess.DEVNULL, timeout: float = 60) -> Iterator[Server]:
    """Run `python -m gunicorn --chdir <repo> <args>` on a free loopback port until the block ends, with
    gunicorn.conf.py (`conf`: the address in BIND) or without it (`--bind`). It runs in a session of its
    own, so `os.killpg(server.process.pid, ...)` reaches the master and its workers.

    The block starts once `ready_path` answers 200 and, with `workers`, that many workers run (until
    `timeout` s); a server that exits or does not answer by then raises RuntimeError with the end of its
    stderr. On leaving: SIGTERM, and SIGKILL to the group if it has not stopped within 30 s."""
    port = free_port()
    bind = f"127.0.0.1:{port}"
    env = dict(env, BIND=bind) if conf else env
    command = [sys.executable, "-m", "gunicorn", "--chdir", str(ROOT)]
    command += ["-c", str(ROOT / "gunicorn.conf.py")] if conf else ["--bind", bind]
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(command + list(args), env=env, stdout=stdout, stderr=log, text=True,
                                   start_new_session=True)
        server = Server(process, port, f"http://{bind}")
        try:
            deadline = time.monotonic() + timeout
            while not _answers_200(server.base + ready_path):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"gunicorn {' '.join(args)} did not start:\n{log.read()[-3000:]}")
                time.sleep(0.2)
            while len(server.worker_pids()) < workers and time.monotonic() < deadline:
                time.sleep(0.1)
            yield server
        finally:
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def gunicorn(target: str, env: dict[str, str], workers: int = 2) -> contextlib.AbstractContextManager[Server]:
    """`gunicorn -c gunicorn.conf.py <target>` with `workers` sync workers (bench/ importable), all running."""
    env = dict(env, WEB_CONCURRENCY=str(workers), PYTHONPATH=os.pathsep.join([str(ROOT), str(BENCH)]))
    env.setdefault("HOME", tempfile.gettempdir())
    return serve(target, env=env, conf=True, workers=workers)


# --- wrk ---------------------------------------------------------------------------------------------

@dataclass
class WrkResult:
    requests_per_s: float
    requests: int
    errors: int  # non-2xx/3xx responses and socket errors
    latency_ms: float
    cpu_ms_per_request: float = 0.0  # the server's CPU time (all its processes) per request

    def __str__(self) -> str:
        return (f"{self.requests_per_s:,.0f} req/s ({self.requests} requests, {self.errors} errors, "
                f"avg {self.latency_ms:.1f} ms, {self.cpu_ms_per_request:.2f} ms CPU per request)")


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def measure(server: Server, mode: str, tokens_file: str, seconds: int = 10, connections: int = 8, **kwargs) -> WrkResult:
    """`wrk` against a server, with the CPU time its processes used per request."""
    before = server.cpu_seconds()
    result = wrk(server.base, mode, tokens_file, seconds, connections, **kwargs)
    used = server.cpu_seconds() - before
    result.cpu_ms_per_request = used * 1000 / result.requests if result.requests else 0.0
    return result


def wrk(base: str, mode: str, tokens_file: str, seconds: int = 10, connections: int = 8, threads: int = 1,
        csrf: str = "", cookie: str = "", forwarded: bool = False) -> WrkResult:
    """Run wrk with bench/wrk.lua in `mode` (page, form, api): unique idempotency keys, packs spread out."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    env = dict(os.environ, BENCH_MODE=mode, BENCH_TOKENS=tokens_file, BENCH_CSRF=csrf, BENCH_COOKIE=cookie,
               BENCH_FORWARDED="1" if forwarded else "")
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "-s", str(BENCH / "wrk.lua"), base],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    latency = _ms(re.search(r"Latency\s+(\S+)", out).group(1))
    return WrkResult(rps, requests, errors, latency)


def form_session(base: str, token: str) -> tuple[str, str]:
    """Load a pack page as a browser would: (CSRF token from the page, session cookie)."""
    request = urllib.request.Request(f"{base}/p/{token}")
    with urllib.request.urlopen(request, timeout=10) as response:  # nosec B310 - loopback
        html = response.read().decode()
        cookies = response.headers.get_all("Set-Cookie") or []
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', html)
    cookie = "; ".join(c.split(";", 1)[0] for c in cookies)
    return (csrf.group(1) if csrf else ""), cookie
