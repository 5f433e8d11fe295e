"""Admins per host, and the public host's pages (landing and signup with CSRF)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from audit.models import AuditEntry
from tenants.admin import PublicHostOnlyAdmin
from tenants.models import Agency

pytestmark = pytest.mark.django_db


def admin_login(client: Client, email: str, password: str) -> Any:
    client.get("/admin/login/")
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": email, "password": password,
         "csrfmiddlewaretoken": client.cookies["csrftoken"].value},
    )


def csrf_client(host: str) -> Client:
    return Client(HTTP_HOST=host, enforce_csrf_checks=True)


def test_agency_user_logs_in_to_its_own_admin_only(make_agency: Callable[..., Any]) -> None:
    acme, globex = make_agency("acme"), make_agency("globex")

    own = csrf_client(acme.domain)
    assert admin_login(own, acme.email, acme.password)["Location"] == "/admin/"
    assert own.get("/admin/").status_code == 200

    foreign = csrf_client(globex.domain)
    response = admin_login(foreign, acme.email, acme.password)
    assert response.status_code == 200  # the form again, with an error
    assert foreign.get("/admin/").status_code == 302

    public = csrf_client(settings.BASE_DOMAIN)
    assert admin_login(public, acme.email, acme.password).status_code == 200


def test_tenant_admin_shows_neither_agencies_nor_other_agencies_users(
    make_agency: Callable[..., Any]
) -> None:
    acme, globex = make_agency("acme"), make_agency("globex")
    client = csrf_client(acme.domain)
    admin_login(client, acme.email, acme.password)

    index = client.get("/admin/").content.decode()
    assert "/admin/tenants/" not in index
    for path in ("/admin/tenants/agency/", "/admin/tenants/apitoken/", "/admin/tenants/domain/"):
        assert client.get(path).status_code in (403, 404)
    users = client.get("/admin/accounts/user/").content.decode()
    assert acme.email in users
    assert globex.email not in users


def test_every_model_whose_table_is_only_in_public_has_a_public_host_only_admin() -> None:
    """A shared app that is no tenant app keeps its tables in public alone, which is on every
    agency's search path: its admin must be the public host's only."""
    shared_only = [config for config in apps.get_app_configs()
                   if config.name in settings.SHARED_APPS
                   and config.name not in settings.TENANT_APPS]
    registered = [model for config in shared_only for model in config.get_models()
                  if admin.site.is_registered(model)]
    assert registered, "the registry and the beat schedule have admins"
    for model in registered:
        assert isinstance(admin.site.get_model_admin(model), PublicHostOnlyAdmin), model


def test_tenant_admin_cannot_touch_the_platforms_beat_schedule(
    make_agency: Callable[..., Any]
) -> None:
    """django-celery-beat's tables live only in public, which is on the agency's search path:
    deleting the dispatcher from an agency's admin would stop every agency's jobs."""
    from django_celery_beat.models import PeriodicTask

    acme = make_agency("acme")
    client = csrf_client(acme.domain)
    admin_login(client, acme.email, acme.password)
    assert "/admin/django_celery_beat/" not in client.get("/admin/").content.decode()
    task = PeriodicTask.objects.get(task="campaigns.dispatch_passes")
    for path in ("/admin/django_celery_beat/periodictask/",
                 f"/admin/django_celery_beat/periodictask/{task.pk}/delete/"):
        assert client.get(path).status_code in (403, 404)
    client.post(f"/admin/django_celery_beat/periodictask/{task.pk}/delete/", {"post": "yes"})
    assert PeriodicTask.objects.filter(pk=task.pk).exists()


def test_platform_superuser_sees_the_registry_on_the_public_admin(
    make_agency: Callable[..., Any]
) -> None:
    acme = make_agency("acme")
    with schema_context("public"):
        User.objects.create_superuser("ops@platform.example", "ops-Password-77")
    client = csrf_client(settings.BASE_DOMAIN)
    assert admin_login(client, "ops@platform.example", "ops-Password-77").status_code == 302

    agencies = client.get("/admin/tenants/agency/")
    assert agencies.status_code == 200
    assert acme.domain in agencies.content.decode()
    tokens = client.get("/admin/tenants/apitoken/").content.decode()
    token = client.get(f"/admin/tenants/apitoken/{acme.agency.tokens.get().pk}/change/")
    assert token.status_code == 200
    for page in (tokens, token.content.decode()):
        assert acme.agency.tokens.get().secret_hash not in page
        assert acme.token not in page
    assert client.get("/admin/tenants/apitoken/add/").status_code == 403
    # Agencies are made by signup, with their schema, first user and token.
    assert client.get("/admin/tenants/agency/add/").status_code == 403


def test_the_operator_revokes_a_token_with_an_audited_action_and_never_brings_it_back(
    make_agency: Callable[..., Any]
) -> None:
    acme = make_agency("acme")
    with schema_context("public"):
        User.objects.create_superuser("ops@platform.example", "ops-Password-77")
    client = csrf_client(settings.BASE_DOMAIN)
    admin_login(client, "ops@platform.example", "ops-Password-77")
    token = acme.agency.tokens.get()
    changed = client.post("/admin/tenants/apitoken/", {
        "action": "revoke", "_selected_action": [token.pk],
        "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert changed.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    with schema_context(acme.agency.schema_name):
        entry = AuditEntry.objects.get(action="revoke")
    # The operator is no user of the agency's: not under an id one of them has there.
    assert (entry.object_type, entry.object_id, entry.actor_id, entry.actor_name) == (
        "token", token.pk, 0, "platform operator ops@platform.example")
    page = client.get(f"/admin/tenants/apitoken/{token.pk}/change/").content.decode()
    assert 'name="revoked_at' not in page  # shown, not editable
    assert acme.client().get("/api/v1/brands").status_code == 401


def test_tenant_admin_adds_a_user_by_email(make_agency: Callable[..., Any]) -> None:
    acme = make_agency("acme")
    client = csrf_client(acme.domain)
    admin_login(client, acme.email, acme.password)
    client.get("/admin/accounts/user/add/")
    response = client.post("/admin/accounts/user/add/", {
        "email": "New.Person@Acme.example", "usable_password": "true",
        "password1": "another-Secret-55", "password2": "another-Secret-55",
        "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    with schema_context(acme.agency.schema_name):
        assert User.objects.filter(email="new.person@acme.example").exists()
    with schema_context("public"):
        assert not User.objects.filter(email="new.person@acme.example").exists()


def test_landing_page_links_to_signup_and_docs(public_client: Client) -> None:
    page = public_client.get("/").content.decode()
    assert 'href="/signup/"' in page
    assert 'href="/api/v1/docs/"' in page


def test_signup_page_creates_the_agency_and_shows_urls_and_token_once() -> None:
    client = csrf_client(settings.BASE_DOMAIN)
    form = client.get("/signup/")
    assert form.status_code == 200
    assert "csrfmiddlewaretoken" in form.content.decode()

    response = client.post("/signup/", {
        "name": "Acme", "slug": "acme", "email": "boss@acme.example",
        "password": "correct-Horse-battery-9",
        "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
    })

    assert response.status_code == 201
    page = response.content.decode()
    assert f"http://acme.{settings.BASE_DOMAIN}/" in page
    assert f"http://acme.{settings.BASE_DOMAIN}/admin/" in page
    token = re.search(r'<code class="token">([^<]+)</code>', page)
    assert token
    api = Client(HTTP_HOST=f"acme.{settings.BASE_DOMAIN}",
                 HTTP_AUTHORIZATION=f"Bearer {token.group(1)}")
    assert api.get("/api/v1/tokens").status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_signup_page_without_csrf_token_is_refused() -> None:
    client = csrf_client(settings.BASE_DOMAIN)
    response = client.post("/signup/", {"name": "Acme", "slug": "acme",
                                        "email": "boss@acme.example",
                                        "password": "correct-Horse-battery-9"})
    assert response.status_code == 403
    assert not Agency.objects.filter(slug="acme").exists()


@pytest.mark.parametrize("slug, message", [("admin", "reserved"), ("A!", "3 to 30")])
def test_signup_page_shows_slug_errors(slug: str, message: str) -> None:
    client = csrf_client(settings.BASE_DOMAIN)
    client.get("/signup/")
    response = client.post("/signup/", {
        "name": "Acme", "slug": slug, "email": "boss@acme.example",
        "password": "correct-Horse-battery-9",
        "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
    })
    assert response.status_code == 400
    assert message in response.content.decode()


def test_signup_page_shows_a_taken_slug(make_agency: Callable[..., Any]) -> None:
    make_agency("acme")
    client = csrf_client(settings.BASE_DOMAIN)
    client.get("/signup/")
    response = client.post("/signup/", {
        "name": "Acme 2", "slug": "acme", "email": "boss@acme2.example",
        "password": "correct-Horse-battery-9",
        "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
    })
    assert response.status_code == 400
    assert "already taken" in response.content.decode()


def test_signup_page_is_not_on_tenant_hosts(make_agency: Callable[..., Any]) -> None:
    acme = make_agency("acme")
    assert Client(HTTP_HOST=acme.domain).get("/signup/").status_code == 404


@pytest.mark.parametrize("password", [" " * 10, "new@acme.example", "1234567890"])
def test_the_admin_refuses_the_weak_passwords_signup_refuses(
    make_agency: Callable[..., Any], password: str
) -> None:
    acme = make_agency("acme")
    client = Client(HTTP_HOST=acme.domain)
    with schema_context(acme.agency.schema_name):
        client.force_login(User.objects.get(email=acme.email))
    response = client.post("/admin/accounts/user/add/", {
        "email": "new@acme.example", "usable_password": "true",
        "password1": password, "password2": password})
    assert response.status_code == 200  # the form again, with its error
    with schema_context(acme.agency.schema_name):
        assert not User.objects.filter(email="new@acme.example").exists()


def test_the_operator_cannot_delete_the_platform_or_its_host(
    make_agency: Callable[..., Any]
) -> None:
    from tenants.models import Domain, PlatformTenant

    acme = make_agency("acme")
    with schema_context("public"):
        User.objects.create_superuser("ops@platform.example", "ops-Password-77")
    client = csrf_client(settings.BASE_DOMAIN)
    assert admin_login(client, "ops@platform.example", "ops-Password-77").status_code == 302
    platform = Agency.objects.get(schema_name="public")
    host = Domain.objects.get(domain=settings.BASE_DOMAIN)

    assert client.get(f"/admin/tenants/agency/{platform.pk}/delete/").status_code == 403
    assert client.get(f"/admin/tenants/domain/{host.pk}/delete/").status_code == 403
    client.post("/admin/tenants/agency/", {
        "action": "delete_selected", "post": "yes",
        "_selected_action": [platform.pk, acme.agency.pk],
        "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert Agency.objects.filter(pk=platform.pk).exists()  # (the admin refuses the whole lot)
    with pytest.raises(PlatformTenant):
        platform.delete()
