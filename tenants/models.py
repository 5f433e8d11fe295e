"""The agency registry, in the public schema: agencies, their host names and their API tokens."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

SCOPES = ("read", "write", "spend:write")


class Agency(TenantMixin):
    """One agency: one PostgreSQL schema named after its slug."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=30, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True
    auto_drop_schema = True

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class Domain(DomainMixin):
    """A host name that resolves to an agency (`<slug>.<BASE_DOMAIN>`, or the public host)."""

    def __str__(self) -> str:
        return self.domain


class ApiToken(models.Model):
    """A bearer token. Only the SHA-256 of its secret is stored; the token names its tenant."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64, unique=True)
    scopes = ArrayField(models.CharField(max_length=20))
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"
