"""Production serving: /healthz, ProxyFix behind a reverse proxy, JSON logs, gunicorn.conf.py."""

from __future__ import annotations

import io
import json
import logging
import os
import urllib.request
from pathlib import Path

import pytest

from app import logs
from bench.common import serve

ROOT = Path(__file__).resolve().parent.parent


# --- /healthz ----------------------------------------------------------------------------------------

def test_healthz_answers_ok_without_session_cookie(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_is_not_rate_limited(app_factory):
    limited = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute", RATELIMIT_STORAGE_URI="memory://")
    client = limited.test_client()
    assert [client.get("/healthz").status_code for _ in range(5)] == [200] * 5


def test_healthz_answers_503_when_the_database_is_down(app_factory, caplog):
    # A real, unreachable database: nothing listens on port 1.
    down = app_factory(url="postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    with caplog.at_level(logging.WARNING, logger="app.health.services"):
        response = down.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert "Set-Cookie" not in response.headers
    assert "database unreachable" in caplog.text


# --- ProxyFix ------------------------------------------------------------------------------------------

def _echo_app(app_factory, **config):
    app = app_factory(**config)

    @app.get("/_test/remote")
    def remote():
        from flask import request

        return {"addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    return app


def test_proxy_fix_takes_the_client_address_from_the_trusted_proxy(app_factory):
    app = _echo_app(app_factory, PROXY_FIX=1)
    body = app.test_client().get(
        "/_test/remote", environ_base={"REMOTE_ADDR": "10.0.0.2"},
        headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.7", "X-Forwarded-Proto": "https",
                 "X-Forwarded-Host": "cards.example.org"},
    ).get_json()
    # One trusted hop: the address the proxy saw (the last one), not what the client claims before it.
    assert body == {"addr": "203.0.113.7", "scheme": "https", "host": "cards.example.org"}


def test_without_proxy_fix_forwarded_headers_are_ignored(app_factory):
    app = _echo_app(app_factory, PROXY_FIX=0)
    body = app.test_client().get(
        "/_test/remote", environ_base={"REMOTE_ADDR": "10.0.0.2"},
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
    ).get_json()
    assert body["addr"] == "10.0.0.2" and body["scheme"] == "http"


def test_rate_limits_key_on_the_forwarded_client_address(app_factory):
    from app.extensions import limiter

    app = app_factory(PROXY_FIX=1, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                      RATELIMIT_CODE_LOOKUPS_PER_IP="2 per minute")
    client = app.test_client()

    def lookup(ip):
        return client.post("/p", data={"code": "nonsense"}, environ_base={"REMOTE_ADDR": "10.0.0.2"},
                           headers={"X-Forwarded-For": ip}).status_code

    assert [lookup("203.0.113.1") for _ in range(3)] == [422, 422, 429]
    assert lookup("203.0.113.2") == 422  # another client behind the same proxy has its own budget
    limiter.reset()


# --- Logs ----------------------------------------------------------------------------------------------

def test_json_log_lines(app_factory):
    stream = io.StringIO()
    handler = logs.configure("json", stream=stream)
    try:
        logging.getLogger("app.reports").warning("pack %s refused", "X", extra={"pack_id": 7})
    finally:
        logging.getLogger("app").removeHandler(handler)
    line = json.loads(stream.getvalue().strip())
    assert line["level"] == "WARNING" and line["logger"] == "app.reports"
    assert line["message"] == "pack X refused" and line["pack_id"] == 7
    assert line["time"].endswith("+00:00")


def test_create_app_installs_json_logging_from_config(app_factory):
    app_factory(LOG_FORMAT="json")
    handlers = [h for h in logging.getLogger("app").handlers if getattr(h, "_cardtrail", False)]
    try:
        assert handlers and isinstance(handlers[-1].formatter, logs.JsonFormatter)
    finally:
        for h in handlers:
            logging.getLogger("app").removeHandler(h)
        logging.getLogger("app").propagate = True


def test_access_lines_redact_pack_tokens():
    entry = logs.access_entry("POST", "/p/ABCDEFGHJKMNPQRSTVWXYZ0123456789/thanks/3", "303 SEE OTHER", 1.234, 0)
    assert entry == {"method": "POST", "path": "/p/<token>/thanks/3", "status": 303, "duration_ms": 1.23, "bytes": 0}
    assert logs.redact_path("/api/v1/packs/SECRET/reports") == "/api/v1/packs/<token>/reports"
    assert logs.redact_path("/cases/sonia") == "/cases/sonia"


# --- gunicorn.conf.py, for real ---------------------------------------------------------------------------

@pytest.mark.parametrize("target", [None, "app:create_app()"])
def test_gunicorn_conf_serves_healthz_with_json_access_log(_migrated, tmp_path, target):
    env = dict(os.environ, HOME=str(tmp_path), WEB_CONCURRENCY="1", LOG_FORMAT="json", DATABASE_URL=_migrated,
               SECRET_KEY="x" * 40, WEBHOOK_WORKER="0", PYTHONPATH=str(ROOT))
    with open(tmp_path / "stdout.log", "w+") as out:
        with serve(*([target] if target else []), env=env, conf=True, stdout=out) as server:
            with urllib.request.urlopen(server.base + "/healthz", timeout=5) as response:
                assert response.status == 200 and json.load(response) == {"status": "ok"}
        out.seek(0)
        access = [json.loads(line) for line in out.read().splitlines() if line.startswith("{")]
    assert any(a["path"] == "/healthz" and a["status"] == 200 and a["logger"] == "gunicorn.access" for a in access)
