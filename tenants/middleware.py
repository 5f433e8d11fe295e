"""The request's tenant, from its host and, under `/api/`, its bearer token: one query.

On an agency's host the request runs in that agency's schema. On the public host an API call
with a live token runs in the token's agency (the contract: the token alone names its tenant);
everything else there runs in public. Whether the token may act here is the API's to say
(`tenants.auth.authenticate`); this only reads it once, with the host.
"""

from __future__ import annotations

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import remove_www

from saas.db import connection
from tenants.auth import bearer_secret, tenancy_for
from tenants.models import Agency

API_PREFIX = "/api/"


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' middleware with one lookup for the host and the token: its own switches
    to public and back cost two `SET search_path` round trips on every request."""

    @staticmethod
    def hostname_from_request(request: HttpRequest) -> str:
        """Host names are case-insensitive: `ACME.localhost` is `acme.localhost`."""
        return str(remove_www(request.get_host().split(":")[0].lower()))

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return HttpResponseNotFound()
        secret = bearer_secret(request) if request.path_info.startswith(API_PREFIX) else None
        tenancy = tenancy_for(hostname, secret)
        if tenancy is None:
            connection.set_schema_to_public()
            return self.no_tenant_found(request, hostname)
        tenancy.host.domain_url = hostname
        request.tenant = tenancy.host  # type: ignore[attr-defined]  # routes by host
        request.tenancy = tenancy  # type: ignore[attr-defined]
        use_schema_of(tenancy.agency)
        self.setup_url_routing(request)
        return None


def use_schema_of(agency: Agency) -> None:
    """Switch the connection to the agency's schema unless it is there already: `set_tenant`
    forgets the search_path it set, so a worker serving the same agency again would pay a
    `SET search_path` on every request (TENANT_LIMIT_SET_CALLS sets it once per switch)."""
    if connection.tenant != agency:
        connection.set_tenant(agency)
