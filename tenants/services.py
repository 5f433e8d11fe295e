"""Signup and API tokens: the only code that creates agencies and tokens.

Views, the signup page and the admin call these; they never re-implement them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django_tenants.utils import schema_context, schema_exists, tenant_context

from accounts.models import User
from audit.log import Actor, changes_between, record
from audit.models import Action, ObjectType
from campaigns import due
from saas import ratelimit
from saas.clients import address_group
from saas.errors import Conflict
from tenants.models import SCOPES, Agency, ApiToken, Domain
from tenants.tokens import generate_token

# A letter first, a letter or digit last (`abc-.localhost` is no valid host name), 3 to 30 in all.
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]\Z")
RESERVED_SLUGS = frozenset({"public", "www", "admin", "api", "static", "media",
                            "information-schema"})
SIGNUP_TOKEN_NAME = "Signup token"


class SlugTaken(Conflict):
    """Another agency already has this slug."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"The slug {slug!r} is already taken.")
        self.slug = slug


@dataclass(frozen=True)
class SignupResult:
    agency: Agency
    domain: str
    admin_url: str
    token: str  # plaintext, shown once


def validate_slug(slug: str) -> None:
    """The contract's slug rule; raises ValidationError on the field `slug`."""
    if not SLUG_PATTERN.match(slug):
        raise ValidationError(
            {"slug": "Use 3 to 30 characters: a lowercase letter first, then lowercase "
                     "letters, digits or '-'."}
        )
    if slug in RESERVED_SLUGS or slug.startswith("pg-"):
        raise ValidationError({"slug": f"The slug {slug!r} is reserved."})
    if slug[2:4] == "--":  # IDNA's reserved form (`xn--`): browsers would show another name
        raise ValidationError({"slug": "A slug cannot have '--' as its third and fourth "
                                       "characters."})


def refuse_existing_schema(schema_name: str) -> None:
    """A new agency gets a schema that did not exist: never PostgreSQL's own
    (`information_schema`, `pg_*`), never one left behind or made by hand. Any case: a schema
    differing only in case would be a second name for the same tenant's data."""
    if schema_exists(schema_name, case_sensitive=False):
        raise ValidationError({"slug": "This slug is reserved: its schema name is taken."})


def schema_name_for(slug: str) -> str:
    """One-to-one (slugs have no '_'), and never `_tenant_template` (slugs start a-z)."""
    return slug.replace("-", "_")


def tenant_domain(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def tenant_url(domain: str, path: str = "/", *, port: str = "") -> str:
    """The agency's address; `port` is the one the caller reached us on (as `make run`'s
    :8000), left out where it is the scheme's own."""
    scheme = "https" if settings.HTTPS else "http"
    default_port = "443" if settings.HTTPS else "80"
    host = domain if port in ("", default_port) else f"{domain}:{port}"
    return f"{scheme}://{host}{path}"


def port_of(request: HttpRequest) -> str:
    """The port in the Host header the client used, "" when it named none."""
    host = request.get_host()
    return host.rpartition(":")[2] if ":" in host else ""


@lru_cache(maxsize=8)
def _rate(text: str) -> ratelimit.Rate:
    return ratelimit.Rate.parse(text)


def sign_up(address: str, **fields: str) -> SignupResult:
    """`create_agency` for a visitor at `address`, within SIGNUP_RATE for that address: past it
    RateLimited and nothing is created; a refused signup is not counted."""
    with ratelimit.counted(f"signup:{address_group(address)}", _rate(settings.SIGNUP_RATE)):
        return create_agency(**fields)


def create_agency(*, name: str, slug: str, email: str, password: str) -> SignupResult:
    """Create an agency with its schema, domain, first (admin) user and an all-scopes token.

    Everything happens in one transaction (PostgreSQL DDL is transactional), so a failure at any
    step leaves no schema, row or user behind. A taken slug is decided by the unique constraint,
    not by a prior lookup: of two concurrent signups for one slug exactly one succeeds.
    """
    validate_slug(slug)
    try:
        validate_password(password, User(email=email))
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    # Agencies are made from the public schema, whichever tenant the connection served last.
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        agency = _insert_agency(name=name, slug=slug)  # a taken slug is a 409 first
        refuse_existing_schema(agency.schema_name)
        domain = Domain.objects.create(domain=tenant_domain(slug), tenant=agency, is_primary=True)
        # The schema is cloned only once the row (and so the slug) is ours.
        agency.create_schema(check_if_exists=False, verbosity=0)
        # Its first budget pass on the next minute (campaigns.due); from then on, only when
        # one of its campaigns can change.
        due.mark_due(agency.pk, agency.created_at)
        with tenant_context(agency):  # the token row is public's; its audit entry, the agency's
            user = User.objects.create_superuser(email=email, password=password)
            _, plaintext = create_token(agency, SIGNUP_TOKEN_NAME, SCOPES,
                                        actor=Actor.user(user), at=agency.created_at)
    return SignupResult(
        agency=agency,
        domain=domain.domain,
        admin_url=tenant_url(domain.domain, "/admin/"),
        token=plaintext,
    )


def _insert_agency(*, name: str, slug: str) -> Agency:
    agency = Agency(name=name, slug=slug, schema_name=schema_name_for(slug))
    # The schema is created explicitly by the caller, inside its transaction, after the insert.
    agency.auto_create_schema = False
    try:
        with transaction.atomic():
            # Agency.save()'s own case-insensitive pre-check is racy; the constraint decides.
            agency.save()
    except IntegrityError as exc:
        raise SlugTaken(slug) from exc
    except ValidationError as exc:
        if Agency.objects.filter(schema_name=agency.schema_name).exists():
            raise SlugTaken(slug) from exc
        raise
    return agency


def normalize_scopes(scopes: Iterable[str]) -> list[str]:
    """Unique scopes in the canonical order; unknown or none: ValidationError on `scopes`."""
    wanted = set(scopes)
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise ValidationError({"scopes": f"Unknown scopes: {', '.join(unknown)}."})
    if not wanted:
        raise ValidationError({"scopes": "Give at least one scope."})
    return [scope for scope in SCOPES if scope in wanted]


PREFIX_ATTEMPTS = 5


def create_token(agency: Agency, name: str, scopes: Iterable[str], *, actor: Actor,
                 at: datetime) -> tuple[ApiToken, str]:
    """A new token; its plaintext is returned here once and stored only as a hash. Audited in
    the agency's log, so the connection must be in the agency's schema.

    The public prefix has 40 random bits under a unique constraint: around a million tokens a
    collision becomes likely, so a taken prefix is drawn again rather than failing the request.
    """
    wanted = normalize_scopes(scopes)
    attempts_left = PREFIX_ATTEMPTS
    while True:
        new = generate_token()
        attempts_left -= 1
        try:
            with transaction.atomic():  # a savepoint: a collision leaves the caller's work intact
                token = ApiToken.objects.create(agency=agency, name=name, prefix=new.prefix,
                                                secret_hash=new.secret_hash, scopes=wanted)
            record(actor, Action.CREATE, ObjectType.TOKEN, token.pk, at=at,
                   changes=changes_between({}, {"name": name, "scopes": wanted}))
            return token, new.plaintext
        except IntegrityError:
            if not attempts_left or not _prefix_taken(new.prefix):
                raise


def _prefix_taken(prefix: str) -> bool:
    return ApiToken.objects.filter(prefix=prefix).exists()


def revoke_token(agency: Agency, token_id: int, *, actor: Actor, at: datetime) -> bool:
    """Revoke one of this agency's live tokens; False if it has no such token.

    Every request looks its token up in the database, so this takes effect at once everywhere.
    """
    with transaction.atomic():
        updated = ApiToken.objects.filter(
            agency=agency, pk=token_id, revoked_at__isnull=True
        ).update(revoked_at=at)
        if updated:
            record(actor, Action.REVOKE, ObjectType.TOKEN, token_id, at=at)
    return updated > 0
