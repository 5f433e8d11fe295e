# One image for web, worker, beat and the one-shot migrate service (docker-compose.yml).
# The service is installed as a package (`pip install .`), pinned by requirements.lock, which also
# pins the dev tools; a constraints file only pins what the install actually pulls in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=saas.settings

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when the metadata or the lock change.
# With no packages copied yet, setuptools builds an empty distribution and pip installs its deps.
COPY pyproject.toml requirements.lock README.md /tmp/deps/
RUN pip install -c /tmp/deps/requirements.lock /tmp/deps && rm -rf /tmp/deps

# Then the service itself. The source stays out of /app so imports come from the installed
# package (the templates and static files it ships included), exactly as `pip install .` gives.
COPY . /tmp/src
RUN pip install --no-deps --force-reinstall -c /tmp/src/requirements.lock /tmp/src \
    && cp /tmp/src/manage.py /app/manage.py \
    && rm -rf /tmp/src

RUN useradd --system --uid 10001 --create-home --home-dir /home/app app
USER app

EXPOSE 8000
# TLS ends at the reverse proxy in front (README, HTTPS=1). WEB_CONCURRENCY sets the workers.
CMD ["gunicorn", "saas.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-", \
     "--no-control-socket"]
