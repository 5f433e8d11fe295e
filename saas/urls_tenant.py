"""An agency's host: its dashboard, its own admin, and the API."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include("saas.urls_api")),
    path("", include("dashboard.urls")),
]

handler400 = "saas.views.bad_request"
handler500 = "saas.views.server_error"
