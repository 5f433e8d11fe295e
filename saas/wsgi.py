"""WSGI entry point: `gunicorn saas.wsgi:application`, Django's own handler."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("SAAS_WEB_PROCESS", "1")  # web connections get their timeouts (settings)

application = get_wsgi_application()
