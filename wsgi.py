"""WSGI entry point: `gunicorn -c gunicorn.conf.py` serves `wsgi:app`.

`gunicorn 'app:create_app()'` works as well; this module only names the object for tools that
want a plain `module:variable`.
"""

from app import create_app

app = create_app()
