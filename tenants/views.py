"""Pages of the public host: the landing page and the signup page."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from saas import ratelimit
from saas.clients import client_address
from tenants import services
from tenants.forms import SignupForm


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/landing.html", {"base_domain": settings.BASE_DOMAIN})


@never_cache  # the success page shows a token once: no cache may keep it
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.sign_up(client_address(request), **form.cleaned_data)
        except ratelimit.RateLimited as limited:
            form.add_error(None, "Too many signups from your address. Please try again in "
                                 f"{limited.quota.retry_after // 60 + 1} minutes.")
            response = _page(request, form, status=429)
            response["Retry-After"] = str(limited.quota.retry_after)
            return response
        except ValidationError as error:
            form.add_error(None, error)
        except services.SlugTaken as error:
            form.add_error("slug", str(error))
        else:
            port = services.port_of(request)
            context = {
                "result": result,
                "tenant_url": services.tenant_url(result.domain, port=port),
                "admin_url": services.tenant_url(result.domain, "/admin/", port=port),
            }
            return render(request, "tenants/signup_done.html", context, status=201)
    return _page(request, form, status=400 if request.method == "POST" else 200)


def _page(request: HttpRequest, form: SignupForm, *, status: int) -> HttpResponse:
    context = {"form": form, "base_domain": settings.BASE_DOMAIN}
    return render(request, "tenants/signup.html", context, status=status)
