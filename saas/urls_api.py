"""`/api/v1/` routes, the same on the public host and on every agency's host."""

from django.urls import URLPattern, URLResolver, include, path

import saas.openapi  # noqa: F401  (registers the Bearer scheme with drf-spectacular)

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("tenants.api.urls")),
    path("", include("campaigns.api.urls")),
    path("", include("audit.api.urls")),
    path("", include("notifications.api.urls")),
]
