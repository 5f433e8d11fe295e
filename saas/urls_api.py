"""`/api/v1/` routes, the same on the public host and on every agency's host."""

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("tenants.api.urls")),
]
