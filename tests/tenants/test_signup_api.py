"""`POST /api/v1/signup`: the contract's shape, slug rules, conflicts and all-or-nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_exists, tenant_context

from tenants import services
from tenants.models import Agency, ApiToken, Domain

GOOD = {"name": "Acme Media", "slug": "acme", "email": "Boss@Acme.example",
        "password": "correct-Horse-battery-9"}


def signup(client: Client, **changes: Any) -> Any:
    return client.post("/api/v1/signup", {**GOOD, **changes}, content_type="application/json")


@pytest.mark.django_db
def test_signup_returns_tenant_admin_url_and_a_working_token(public_client: Client) -> None:
    response = signup(public_client)

    assert response.status_code == 201, response.content
    body = response.json()
    domain = f"acme.{settings.BASE_DOMAIN}"
    assert body["tenant"] == {"name": "Acme Media", "slug": "acme", "domain": domain}
    assert body["admin_url"] == f"http://{domain}/admin/"
    assert set(body) == {"tenant", "admin_url", "token"}
    tokens = Client(HTTP_HOST=domain, HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    listed = tokens.get("/api/v1/tokens").json()["results"]
    assert listed[0]["scopes"] == ["read", "write", "spend:write"]
    assert schema_exists("acme")


@pytest.mark.django_db
def test_slug_with_dashes_gets_a_schema_with_underscores(public_client: Client) -> None:
    assert signup(public_client, slug="big-agency-1").status_code == 201
    agency = Agency.objects.get(slug="big-agency-1")
    assert agency.schema_name == "big_agency_1"
    assert schema_exists("big_agency_1")


@pytest.mark.parametrize(
    "slug",
    [
        "", "ab", "a" * 31, "1abc", "-abc", "Acme", "ac_me", "ac me", "acmé", "acme.", "a/b/c",
        "public", "www", "admin", "api", "static", "media", "pg_stuff", "pg-stuff",
        "abc-", "a1-", "information-schema", "pg-catalog", "pg-toast", "xn--80ak6aa92e",
        "ab--c",
    ],
)
@pytest.mark.django_db
def test_bad_or_reserved_slug_is_400_on_the_slug_field(public_client: Client, slug: str) -> None:
    agencies = Agency.objects.count()
    response = signup(public_client, slug=slug)

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert "slug" in body["fields"]
    assert Agency.objects.count() == agencies


@pytest.mark.parametrize("slug", ["abc", "a" * 30, "a1-b", "z-9-x", "a-b-c", "abc--d"])
@pytest.mark.django_db
def test_slugs_at_the_edges_of_the_rule_are_accepted(public_client: Client, slug: str) -> None:
    assert signup(public_client, slug=slug).status_code == 201


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "password123"}, "password"),
        ({"password": "Boss@Acme.example"}, "password"),  # the email itself
        ({"password": " " * 8}, "password"),
        ({"password": "abababababab"}, "password"),
        ({"password": "8461937250"}, "password"),
        ({"name": ""}, "name"),
    ],
)
@pytest.mark.django_db
def test_bad_fields_are_400_naming_the_field(
    public_client: Client, changes: dict[str, str], field: str
) -> None:
    response = signup(public_client, **changes)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Agency.objects.filter(slug="acme").exists()


@pytest.mark.django_db
def test_missing_fields_are_400(public_client: Client) -> None:
    response = public_client.post("/api/v1/signup", {}, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"name", "slug", "email", "password"}


@pytest.mark.django_db
def test_taken_slug_is_409_and_changes_nothing(public_client: Client) -> None:
    assert signup(public_client).status_code == 201
    before = (Agency.objects.count(), Domain.objects.count(), ApiToken.objects.count())

    response = signup(public_client, name="Impostor", email="x@impostor.example")

    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert "acme" in response.json()["message"]
    assert (Agency.objects.count(), Domain.objects.count(), ApiToken.objects.count()) == before
    assert Agency.objects.get(slug="acme").name == "Acme Media"


@pytest.mark.django_db
def test_signup_on_a_tenant_host_is_404(make_agency: Callable[..., Any]) -> None:
    existing = make_agency("acme")
    response = signup(Client(HTTP_HOST=existing.domain), slug="other")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert not Agency.objects.filter(slug="other").exists()


@pytest.mark.django_db
def test_signup_needs_no_token_and_ignores_a_bad_one() -> None:
    client = Client(HTTP_HOST=settings.BASE_DOMAIN, HTTP_AUTHORIZATION="Bearer nonsense")
    assert signup(client).status_code == 201


@pytest.mark.django_db
def test_a_failed_signup_leaves_no_schema_domain_user_or_token(
    public_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("token store down")

    # The last step fails: the schema, agency, domain and user were already made.
    monkeypatch.setattr(services, "create_token", fail)
    with pytest.raises(RuntimeError):
        services.create_agency(**GOOD)

    assert not schema_exists("acme")
    assert not Agency.objects.filter(slug="acme").exists()
    assert not Domain.objects.filter(domain__startswith="acme.").exists()
    assert not ApiToken.objects.filter(agency__slug="acme").exists()
    monkeypatch.undo()
    # ...and the slug is free again.
    assert signup(public_client).status_code == 201


# These two run in this order: an agency made in a `django_db` test is rolled back with it.
@pytest.mark.django_db
def test_rollback_probe_makes_an_agency(make_agency: Callable[..., Any]) -> None:
    make_agency("rollback-probe")
    assert schema_exists("rollback_probe")


@pytest.mark.django_db
def test_agency_made_in_an_earlier_test_is_gone_with_its_schema() -> None:
    assert not schema_exists("rollback_probe")
    assert not Agency.objects.filter(slug="rollback-probe").exists()


@pytest.mark.django_db
def test_the_template_schema_is_fully_migrated_and_never_a_tenant() -> None:
    from django.db.migrations.executor import MigrationExecutor

    from saas.db import connection

    template = settings.TENANT_BASE_SCHEMA
    assert schema_exists(template)
    assert not Agency.objects.filter(schema_name=template).exists()
    connection.set_schema(template, include_public=False)
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        tenant_labels = {label.rsplit(".", 1)[-1] for label in settings.TENANT_APPS}
        assert [m for m, _ in plan if m.app_label in tenant_labels] == []
    finally:
        connection.set_schema_to_public()


def public_users() -> list[str]:
    from accounts.models import User

    return list(User.objects.values_list("email", flat=True))  # the public schema's table


@pytest.mark.parametrize("slug", ["information-schema", "pg-catalog"])
@pytest.mark.django_db
def test_a_slug_naming_a_postgresql_schema_is_400_and_leaves_nothing(
    public_client: Client, slug: str
) -> None:
    before = (Agency.objects.count(), ApiToken.objects.count(), public_users())

    response = signup(public_client, slug=slug)

    assert response.status_code == 400, response.content
    assert "slug" in response.json()["fields"]
    assert (Agency.objects.count(), ApiToken.objects.count(), public_users()) == before


@pytest.mark.django_db
def test_a_slug_whose_schema_already_exists_is_400_and_leaves_it_alone(
    public_client: Client,
) -> None:
    from saas.db import connection

    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "left_over"; CREATE TABLE "left_over".keep (id int)')
    before = (Agency.objects.count(), ApiToken.objects.count(), public_users())

    response = signup(public_client, slug="left-over")

    assert response.status_code == 400, response.content
    assert response.json()["fields"]["slug"]
    assert (Agency.objects.count(), ApiToken.objects.count(), public_users()) == before
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('left_over.keep') IS NOT NULL")
        assert cursor.fetchone() == (True,)


@pytest.mark.django_db
def test_the_signup_user_never_reaches_the_operators_admin(public_client: Client) -> None:
    """The attack: signing up `information-schema` wrote the agency's superuser into the public
    schema, where it signed in to the platform operator's admin."""
    body = {**GOOD, "slug": "information-schema", "email": "evil@attacker.example"}
    public_client.post("/api/v1/signup", body, content_type="application/json")

    admin = Client(HTTP_HOST=settings.BASE_DOMAIN)
    answer = admin.post("/admin/login/?next=/admin/", {"username": "evil@attacker.example",
                                                       "password": GOOD["password"]})
    assert answer.status_code == 200  # the form again, with its error: no redirect into /admin/
    assert admin.get("/admin/").status_code == 302
    assert "evil@attacker.example" not in public_users()


@pytest.mark.django_db
def test_a_failed_clone_raises_and_creates_no_tenant(monkeypatch: pytest.MonkeyPatch,
                                                     settings: Any) -> None:
    """`clone_schema()` reports failure by a return code and a notice only: the code is read."""
    from tenants import models

    settings.TENANT_SPARE_SCHEMAS = 0  # no spare to rename: the clone runs

    real_exists = models.schema_exists
    monkeypatch.setattr(models.Agency, "get_base_schema", lambda self: "vanished_template")
    monkeypatch.setattr(models, "schema_exists",
                        lambda name, **kw: name == "vanished_template" or real_exists(name, **kw))
    with pytest.raises(models.CloneFailed):
        services.create_agency(**GOOD)  # the template was there when checked, gone at the clone

    assert not Agency.objects.filter(slug="acme").exists()
    assert not schema_exists("acme")


@pytest.mark.django_db
def test_no_agency_write_lands_in_the_public_schema(public_client: Client) -> None:
    """Even if a tenant's schema lacked its users table, the write would not fall through to
    public's (django-tenants' search_path is `<agency>, public`)."""
    from accounts.models import User
    from saas.db import connection
    from tenants.isolation import WrongSchema

    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "hollow"')
    hollow = Agency(schema_name="hollow", slug="hollow", name="Hollow")
    with pytest.raises(WrongSchema), tenant_context(hollow):
        User.objects.create_superuser(email="x@hollow.example", password=GOOD["password"])

    assert "x@hollow.example" not in public_users()


def client_at(address: str) -> Client:
    return Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR=address)


def new_address() -> str:
    import uuid

    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


@pytest.mark.django_db
def test_signups_past_the_rate_of_one_address_are_429_and_create_nothing(settings: Any) -> None:
    settings.SIGNUP_RATE = "2/hour"
    address = new_address()
    assert signup(client_at(address), slug="first-one").status_code == 201
    assert signup(client_at(address), slug="bad-").status_code == 400  # refused: not counted
    assert signup(client_at(address), slug="second-one").status_code == 201

    response = signup(client_at(address), slug="third-one")

    assert response.status_code == 429
    assert response.json()["error"] == "throttled"
    assert int(response["Retry-After"]) > 60
    assert not Agency.objects.filter(slug="third-one").exists()
    assert not schema_exists("third_one")
    assert signup(client_at(new_address()), slug="elsewhere").status_code == 201


@pytest.mark.django_db
def test_the_signup_page_shares_the_rate(settings: Any) -> None:
    settings.SIGNUP_RATE = "1/hour"
    address = new_address()
    assert signup(client_at(address), slug="by-api").status_code == 201
    page = client_at(address).post("/signup/", {**GOOD, "slug": "by-page"})

    assert page.status_code == 429
    assert "Too many signups" in page.content.decode()
    assert page.has_header("Retry-After")
    assert not Agency.objects.filter(slug="by-page").exists()
