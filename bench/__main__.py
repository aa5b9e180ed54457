"""Run every benchmark and write BENCHMARKS.md: `make bench` (= .venv/bin/python -m bench).

    .venv/bin/python -m bench [--quick] [--only serving,labels,scaleout,dashboard] [--output BENCHMARKS.md]

BENCHMARKS.md gets a header with the machine's details and one section per benchmark, each figure with
its goal and whether it was met. Everything below the notes marker in the existing file is
hand-written and kept as it is.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sqlite3
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NOTES_MARKER = "<!-- Hand-written notes below: `python -m bench` keeps everything after this line. -->"
SECTIONS = ("serving", "labels", "scaleout", "dashboard")


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _ram_gib() -> str:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "?"


def _pg_version() -> str:
    from bench import scaleout

    try:
        import sqlalchemy as sa

        url = sa.engine.make_url(scaleout.DEFAULT_DATABASE_URL).set(database="postgres")
        engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SHOW server_version").scalar()
        engine.dispose()
        return str(version)
    except Exception:  # noqa: BLE001
        return "not reachable"


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001
        return "?"


def machine_header() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    rows = [
        ("date", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", f"{_cpu_model()}, {os.cpu_count()} cores"),
        ("RAM", _ram_gib()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL", _pg_version()),
        ("Flask / SQLAlchemy / gunicorn", f"{_version('flask')} / {_version('sqlalchemy')} / {_version('gunicorn')}"),
        ("load average at start (1/5/15 min)", " / ".join(f"{x:.2f}" for x in load)),
    ]
    lines = ["# Benchmarks", "", "Written by `make bench` (`python -m bench`); the machine it ran on:", "",
             "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += ["", "The machine may be shared: the serving figures are ratios to a floor measured in the same run,"
              " back to back, which is what to compare across machines.", ""]
    return "\n".join(lines) + "\n"


def _dashboard(quick: bool) -> str:
    try:
        module = importlib.import_module("bench.dashboard")
    except ModuleNotFoundError as error:
        if error.name in {"bench.dashboard"}:
            print("dashboard benchmark not present")
            return "## Dashboard\n\ndashboard benchmark not present\n"
        raise
    return module.run(quick=quick)


def _section(name: str) -> Callable[[bool], str]:
    if name == "dashboard":
        return _dashboard
    module = importlib.import_module(f"bench.{name}")
    return module.run


def run_all(quick: bool, only: tuple[str, ...]) -> str:
    parts = [machine_header()]
    for name in only:
        print(f"== {name} …", flush=True)
        start = time.perf_counter()
        try:
            text = _section(name)(quick)
        except Exception:  # noqa: BLE001 - one failing benchmark must not lose the others
            text = f"## {name}\n\nFailed:\n\n```\n{traceback.format_exc()[-3000:]}\n```\n"
        print(text, flush=True)
        print(f"   ({time.perf_counter() - start:.0f} s)", flush=True)
        parts.append(text)
    return "\n".join(parts)


def write(output: Path, generated: str) -> None:
    """Replace the generated part of `output`, keep its hand-written notes."""
    existing = output.read_text() if output.exists() else ""
    notes = existing.split(NOTES_MARKER, 1)[1] if NOTES_MARKER in existing else ("\n" + existing if existing else "\n")
    output.write_text(generated.rstrip() + "\n\n" + NOTES_MARKER + notes)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run every benchmark and write BENCHMARKS.md")
    parser.add_argument("--quick", action="store_true", help="shorter runs (a smoke test of the benchmarks)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ", ".join(SECTIONS))
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"), help="'-' to print only")
    args = parser.parse_args()
    only = tuple(name for name in args.only.split(",") if name)
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    generated = run_all(args.quick, only)
    if args.output != "-":
        write(Path(args.output), generated)
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
