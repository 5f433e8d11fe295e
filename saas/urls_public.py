"""The public host: signup, the platform operator's admin, API docs, and the API itself (a
token names its tenant, so API calls to the public host act in the token's agency)."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tenants import views as tenant_pages

urlpatterns = [
    path("", tenant_pages.landing, name="landing"),
    path("signup/", tenant_pages.signup, name="signup-page"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include("saas.urls_api")),
]

handler400 = "saas.views.bad_request"
handler500 = "saas.views.server_error"
