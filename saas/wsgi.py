"""WSGI entry point: `gunicorn saas.wsgi:application`, Django's own handler."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")

application = get_wsgi_application()
