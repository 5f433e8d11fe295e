"""Telling the agency's systems what the service decided: events, signed webhooks, delivery.

For now the plain library core: Standard Webhooks signing, the URL policy against server-side
request forgery, one pinned HTTP attempt, the retry schedule and a local receiver for developers.
The models, API and Celery tasks build on these.
"""
