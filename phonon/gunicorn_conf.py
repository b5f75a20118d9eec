"""gunicorn's settings, for `make serve` and deploy/phonon-web.service: `gunicorn -c python:phonon.gunicorn_conf`.

HOST, PORT and WEB_CONCURRENCY come from the environment like every other setting. With
LOG_FORMAT=json gunicorn's own lines (start-up, the access log) are JSON objects too.
"""

import os

wsgi_app = "phonon.wsgi:application"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
accesslog = "-"
# Load the site once, before forking: start-up errors stop gunicorn at once, and every process
# answers its first request without loading Django then.
preload_app = True
# SIGTERM: stop accepting, let the requests in hand finish (up to this long), then exit 0.
graceful_timeout = 30

if os.environ.get("LOG_FORMAT") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "phonon.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        "root": {"level": "INFO", "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }
# No control socket: nothing here uses gunicornc, and test runs side by side must not share its path.
control_socket_disable = True
