"""Tenant resolution by host, in one query and without switching schemas to do it."""

from __future__ import annotations

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import remove_www

from saas.db import connection
from tenants.models import Agency

# Schema-qualified, so the lookup needs no `SET search_path` to public first.
AGENCY_BY_HOST_SQL = """
SELECT a.id, a.schema_name, a.name, a.slug, a.created_at
FROM public.tenants_domain d JOIN public.tenants_agency a ON a.id = d.tenant_id
WHERE d.domain = %s
"""


def agency_for_host(hostname: str) -> Agency | None:
    with connection.cursor() as cursor:
        cursor.execute(AGENCY_BY_HOST_SQL, [hostname])
        row = cursor.fetchone()
    if row is None:
        return None
    agency_id, schema_name, name, slug, created_at = row
    return Agency(id=agency_id, schema_name=schema_name, name=name, slug=slug,
                  created_at=created_at)


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' middleware with a cheaper lookup: its own switches to public and back
    cost two `SET search_path` round trips on every request."""

    @staticmethod
    def hostname_from_request(request: HttpRequest) -> str:
        """Host names are case-insensitive: `ACME.localhost` is `acme.localhost`."""
        return str(remove_www(request.get_host().split(":")[0].lower()))

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return HttpResponseNotFound()
        agency = agency_for_host(hostname)
        if agency is None:
            connection.set_schema_to_public()
            return self.no_tenant_found(request, hostname)
        agency.domain_url = hostname
        request.tenant = agency  # type: ignore[attr-defined]
        connection.set_tenant(agency)
        self.setup_url_routing(request)
        return None
