"""The agency's pages: thin views that read through `overview` and `webhooks` and write through
`campaigns.services` and `notifications.services` (the dashboard never decides a status
itself)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from audit.log import Actor
from audit.models import AuditEntry
from campaigns import services
from campaigns.models import Brand, Campaign
from dashboard.activity import LIMIT as ACTIVITY_LIMIT
from dashboard.activity import lines as activity_lines
from dashboard.forms import AlertThresholdsForm, FlightForm, WebhookForm
from dashboard.overview import build_overview, campaign_detail
from dashboard.webhooks import build_webhooks_page
from notifications import services as notification_services
from notifications.models import WebhookEndpoint

View = Callable[..., HttpResponse]
POLL_SECONDS = 10


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def login_required(view: View) -> View:
    """Django's login_required, except that a poll from htmx (whose session ended) asks the
    browser to load the sign-in page instead of swapping it into a fragment."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if is_htmx(request):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = f"{settings.LOGIN_URL}?{urlencode({'next': request.path})}"
            return response
        return redirect_to_login(request.get_full_path())

    return wrapper


def page_or_fragment(
    request: HttpRequest, page: str, fragment: str, context: dict[str, Any]
) -> HttpResponse:
    """The whole page, or only its live part when htmx polls for it."""
    context = {**context, "poll_seconds": POLL_SECONDS}
    response = render(request, fragment if is_htmx(request) else page, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@never_cache
@require_GET
@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Every brand and campaign of the agency, as of now."""
    context = {"overview": build_overview(timezone.now())}
    return page_or_fragment(request, "dashboard/overview.html", "dashboard/_overview_live.html",
                            context)


@never_cache
@require_GET
@login_required
def campaign_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One campaign: budgets, 30 local days of spend as a chart, status history."""
    campaign = get_object_or_404(Campaign, pk=pk)
    context = {"detail": campaign_detail(timezone.now(), campaign),
               "flight_form": FlightForm(instance=campaign)}
    return page_or_fragment(request, "dashboard/campaign.html", "dashboard/_campaign_live.html",
                            context)


@never_cache
@require_GET
@login_required
def activity(request: HttpRequest) -> HttpResponse:
    """The audit log, newest first."""
    entries = list(AuditEntry.objects.order_by("-id")[:ACTIVITY_LIMIT])
    return render(request, "dashboard/activity.html",
                  {"lines": activity_lines(entries), "limit": ACTIVITY_LIMIT})


def _switch(request: HttpRequest, pk: int, *, paused: bool) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    campaign = services.set_manual_pause(campaign, paused, actor=Actor.user(request.user),
                                         now=timezone.now())
    if paused:
        messages.success(request, f"“{campaign.name}” is paused until you resume it.")
    elif campaign.status == "active":
        messages.success(request, f"“{campaign.name}” is running again.")
    else:
        messages.info(request, f"“{campaign.name}” is no longer paused by you, but something "
                               "else still holds it (see its reasons).")
    return HttpResponseRedirect(_next_url(request))


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return "/"


@require_POST
@login_required
def pause(request: HttpRequest, pk: int) -> HttpResponse:
    return _switch(request, pk, paused=True)


@require_POST
@login_required
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _switch(request, pk, paused=False)


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """django-axes' answer once sign-in is throttled: a page that says what happened and when
    to try again (429), on every login form of the service, the admins' included."""
    cooloff = timedelta(hours=float(settings.AXES_COOLOFF_TIME))
    context = {
        "minutes": int(cooloff.total_seconds() // 60),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "back_url": request.path,
    }
    response = render(request, "dashboard/locked_out.html", context, status=429)
    response["Retry-After"] = str(int(cooloff.total_seconds()))
    return response


# --- Webhooks ----------------------------------------------------------------------------------


def _webhooks_response(request: HttpRequest, *, form: WebhookForm | None = None,
                       new_secret: tuple[WebhookEndpoint, str] | None = None,
                       status: int = 200) -> HttpResponse:
    """The Webhooks page; a secret just made is shown in this one answer (never cached: every
    view here is `never_cache`) and stored nowhere else, not in the session nor a message."""
    context = {
        "page": build_webhooks_page(timezone.now()),
        "form": form or WebhookForm(),
        "new_secret": new_secret,
    }
    return render(request, "dashboard/webhooks.html", context, status=status)


@never_cache
@require_GET
@login_required
def webhooks(request: HttpRequest) -> HttpResponse:
    """The agency's endpoints with their last deliveries, alert thresholds, recent events."""
    return _webhooks_response(request)


@never_cache
@require_POST
@login_required
def add_webhook(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST)
    if not form.is_valid():
        return _webhooks_response(request, form=form, status=400)
    try:
        created = notification_services.create_endpoint(
            url=form.cleaned_data["url"], description=form.cleaned_data["description"],
            event_types=form.cleaned_data["event_types"], actor=Actor.user(request.user),
            now=timezone.now())
    except notification_services.TooManyEndpoints as exc:
        form.add_error(None, str(exc))
        return _webhooks_response(request, form=form, status=409)
    return _webhooks_response(request, new_secret=(created.endpoint, created.secret))


@never_cache
@require_POST
@login_required
def webhook_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Send a test, rotate the secret, enable or disable, delete: each a POST form."""
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    now, actor = timezone.now(), Actor.user(request.user)
    if action == "rotate":
        secret = notification_services.rotate_secret(endpoint, actor=actor, now=now)
        return _webhooks_response(request, new_secret=(endpoint, secret))
    if action == "test":
        try:
            event = notification_services.send_test(endpoint, now=now)
        except notification_services.EndpointDisabled as exc:
            messages.info(request, str(exc))
        else:
            messages.success(request, f"Test event {event.pk} sent to {endpoint.url}.")
    elif action in ("enable", "disable"):
        notification_services.update_endpoint(endpoint, {"enabled": action == "enable"},
                                              actor=actor, now=now)
        messages.success(request, f"{endpoint.url} is {action}d.")
    elif action == "delete":
        notification_services.delete_endpoint(endpoint, actor=actor, now=now)
        messages.success(request, f"{endpoint.url} is deleted, with its deliveries.")
    else:
        return HttpResponse(status=404)
    return HttpResponseRedirect(reverse("dashboard:webhooks"))


@never_cache
@require_POST
@login_required
def brand_thresholds(request: HttpRequest, pk: int) -> HttpResponse:
    brand = get_object_or_404(Brand, pk=pk)
    form = AlertThresholdsForm(request.POST)
    if not form.is_valid():
        errors = " ".join(str(error) for error in form.errors["thresholds"])
        messages.info(request, f"{brand.name}: thresholds not changed. {errors}")
        return HttpResponseRedirect(reverse("dashboard:webhooks"))
    services.update_brand(brand, {"alert_thresholds": form.cleaned_data["thresholds"]},
                          actor=Actor.user(request.user), now=timezone.now())
    shown = ", ".join(f"{t} %" for t in form.cleaned_data["thresholds"]) or "never"
    messages.success(request, f"{brand.name} alerts at {shown} of each budget.")
    return HttpResponseRedirect(reverse("dashboard:webhooks"))


@never_cache
@require_POST
@login_required
def campaign_flight(request: HttpRequest, pk: int) -> HttpResponse:
    """The flight form of the campaign page: only what changed is written, by the service."""
    campaign = get_object_or_404(Campaign, pk=pk)
    form = FlightForm(request.POST, instance=campaign)
    target = reverse("dashboard:campaign", args=[pk])
    if not form.is_valid():
        errors = " ".join(f"{error}" for errors in form.errors.values() for error in errors)
        messages.info(request, f"{campaign.name}: flight not changed. {errors}")
        return HttpResponseRedirect(target)
    changed = {name: form.cleaned_data[name] for name in form.changed_data}
    if changed:
        services.update_campaign(Campaign.objects.get(pk=pk), changed,
                                 actor=Actor.user(request.user), now=timezone.now())
    messages.success(request, f"{campaign.name}: flight saved.")
    return HttpResponseRedirect(target)
