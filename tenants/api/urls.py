"""`/api/v1/` routes of the tenancy endpoints (included by saas.urls_api)."""

from django.urls import path

from tenants.api.views import SignupView, TokenDetailView, TokenListView

urlpatterns = [
    path("signup", SignupView.as_view(), name="signup"),
    path("tokens", TokenListView.as_view(), name="token-list"),
    path("tokens/<int:token_id>", TokenDetailView.as_view(), name="token-detail"),
]
