"""`flask backup PATH`: a consistent copy of the live database, never a file copy.

SQLite: the online backup API (readers and writers keep going; the copy is one point in time).
PostgreSQL: `pg_dump --format=custom` (restore with `pg_restore --clean --dbname …`).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # nosec B404 - runs pg_dump with an argument list, no shell
from pathlib import Path

from sqlalchemy.engine import make_url

from .extensions import db


class BackupError(RuntimeError):
    pass


def backup(path: str) -> Path:
    """Write a consistent copy of the database to `path`; returns it."""
    target = Path(path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    url = make_url(str(db.engine.url.render_as_string(hide_password=False)))
    if url.get_backend_name() == "sqlite":
        if target.exists():
            raise BackupError(f"{target} exists: choose a new file name.")
        source = sqlite3.connect(url.database, timeout=30)
        dest = sqlite3.connect(str(target))
        try:
            with dest:
                source.backup(dest, pages=1024)
            check = dest.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dest.close()
            source.close()
        if check != "ok":
            raise BackupError(f"The copy failed its integrity check: {check}")
        return target
    if url.get_backend_name() == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise BackupError("pg_dump is not installed.")
        env = dict(os.environ)
        if url.password:
            env["PGPASSWORD"] = url.password
        args = [pg_dump, "--format=custom", "--no-owner", f"--file={target}", "--host", url.host or "localhost",
                "--port", str(url.port or 5432), "--username", url.username or "postgres", url.database or ""]
        result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600, check=False)  # nosec B603
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")
        return target
    raise BackupError(f"No backup method for {url.get_backend_name()}.")
