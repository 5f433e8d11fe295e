"""WSGI entry point: `gunicorn saas.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")

application = get_wsgi_application()
