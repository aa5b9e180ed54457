"""gunicorn settings for production, all from the environment.

    gunicorn -c gunicorn.conf.py                 # serves wsgi:app (the same as 'app:create_app()')
    gunicorn -c gunicorn.conf.py 'app:create_app()'

Environment: BIND (default 127.0.0.1:8000; PORT alone also works), WEB_CONCURRENCY (workers; default
2 × cores + 1, at most 8), GUNICORN_THREADS (1), GUNICORN_TIMEOUT (30 s), ACCESS_LOG ("-" = stdout,
a file path, or "off"), LOG_FORMAT ("json" for JSON lines), LOG_LEVEL, FORWARDED_ALLOW_IPS (the
proxy's address, for gunicorn's own X-Forwarded-Proto handling; the app uses PROXY_FIX, see DEPLOY.md).
See docs/DEPLOY.md.
"""

import os

_cores = os.cpu_count() or 1

wsgi_app = "wsgi:app"
bind = os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or min(8, 2 * _cores + 1))
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (jittered so they do not restart together): bounds slow memory growth.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 20000)
max_requests_jitter = max_requests // 10
# Headers and request lines bigger than this are refused before the app sees them.
limit_request_line = 4094
limit_request_field_size = 8190

_access = os.environ.get("ACCESS_LOG", "-")
accesslog = None if _access.lower() in {"off", "none", ""} else _access
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# JSON lines with LOG_FORMAT=json; access lines without client address or user agent, pack tokens redacted.
logger_class = "app.logs.GunicornLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicorn 27's control socket lives under ~/.gunicorn: off, so a read-only HOME is fine.
control_socket_disable = True
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
