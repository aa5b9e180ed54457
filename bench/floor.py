"""The floor: the least work a report and a pack page can do on this stack (Flask + sqlite3 + gunicorn).

A bare Flask app on the benchmark's SQLite database with raw `sqlite3`, the same pragmas as the app
(WAL, synchronous=FULL, busy timeout) and no ORM, sessions, CSRF, rate limits or security headers:

- `POST /p/<token>` (form) and `POST /api/v1/packs/<token>/reports` (JSON): look the pack up by token,
  then in one BEGIN IMMEDIATE transaction insert the report and bump the counter with the conditional
  UPDATE; 303 / 201.
- `GET /p/<token>`: look up the pack and its case, render a small template.

The app's figures are measured against this one in the same run (`python -m bench`): the ratio says
how much of the stack's capacity the app's own work leaves.

    FLOOR_DB=/path/bench.sqlite gunicorn -c gunicorn.conf.py floor:app   (with bench/ on PYTHONPATH)
"""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import datetime, timezone

from flask import Flask, abort, jsonify, redirect, request

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ case.name }}</title></head>
<body><main><h1>{{ case.name }}</h1><p>{{ case.country }}</p><p>{{ case.ask }}</p>
<form method="post" action="/p/{{ pack.token }}"><input type="hidden" name="idempotency_key" value="{{ key }}">
<input name="cards" type="number" min="1" max="{{ pack.size - pack.posted }}" value="1">
<button type="submit">Report my cards</button></form>
<section><h2>What to write</h2><div>{{ case.what }}</div></section></main></body></html>"""

_local = threading.local()


def _db() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(os.environ["FLOOR_DB"], timeout=15, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=15000")
        conn.execute("PRAGMA synchronous=FULL")
        _local.conn = conn
    return conn


def _record(token: str, cards: int, key: str, source: str) -> int:
    conn = _db()
    row = conn.execute("SELECT id, case_id FROM pack WHERE token = ?", (token,)).fetchone()
    if row is None:
        abort(404)
    pack_id, case_id = row
    now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("UPDATE pack SET cards_posted = cards_posted + ? WHERE id = ? AND cards_posted + ? <= size",
                        (cards, pack_id, cards)).rowcount != 1:
            conn.execute("ROLLBACK")
            abort(422)
        cursor = conn.execute(
            "INSERT INTO report (pack_id, case_id, cards, source, idempotency_key, created_at, voided, void_reason)"
            " VALUES (?, ?, ?, ?, ?, ?, 0, '')", (pack_id, case_id, cards, source, key, now))
        conn.execute("COMMIT")
    except sqlite3.Error:
        conn.execute("ROLLBACK")
        raise
    return int(cursor.lastrowid)


app = Flask(__name__)


def _page():
    """The page template, compiled once per process (as Flask does for template files)."""
    template = getattr(_local, "page", None)
    if template is None:
        template = _local.page = app.jinja_env.from_string(PAGE)
    return template


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.get("/p/<token>")
def pack_page(token: str):
    row = _db().execute(
        'SELECT p.token, p.size, p.cards_posted, c.name, c.country, c.ask, c.what_to_write FROM pack p'
        ' JOIN "case" c ON c.id = p.case_id WHERE p.token = ?', (token,)).fetchone()
    if row is None:
        abort(404)
    pack = {"token": row[0], "size": row[1], "posted": row[2]}
    case = {"name": row[3], "country": row[4], "ask": row[5], "what": row[6]}
    return _page().render(pack=pack, case=case, key=os.urandom(16).hex())


@app.post("/p/<token>")
def post_report(token: str):
    cards = int(request.form.get("cards", "0"))
    report_id = _record(token, cards, request.form["idempotency_key"], "page")
    return redirect(f"/p/{token}/thanks/{report_id}", code=303)


@app.post("/api/v1/packs/<token>/reports")
def api_report(token: str):
    data = request.get_json()
    report_id = _record(token, int(data["cards"]), request.headers["Idempotency-Key"], "api")
    return jsonify(id=report_id, cards=data["cards"]), 201
