"""The agency's pages: thin views that read through `overview` and write through
`campaigns.services` (the dashboard never decides a status itself)."""

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
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from audit.log import Actor
from audit.models import AuditEntry
from campaigns import services
from campaigns.models import Campaign
from dashboard.activity import LIMIT as ACTIVITY_LIMIT
from dashboard.activity import lines as activity_lines
from dashboard.overview import build_overview, campaign_detail

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
    context = {"detail": campaign_detail(timezone.now(), campaign)}
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
