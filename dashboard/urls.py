"""The dashboard on an agency's host: `/`, its campaigns, webhooks, and sign-in / sign-out."""

from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard import views
from dashboard.forms import EmailAuthenticationForm

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("campaigns/<int:pk>/", views.campaign_page, name="campaign"),
    path("activity/", views.activity, name="activity"),
    path("campaigns/<int:pk>/pause/", views.pause, name="pause"),
    path("campaigns/<int:pk>/resume/", views.resume, name="resume"),
    path("campaigns/<int:pk>/flight/", views.campaign_flight, name="campaign-flight"),
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/add/", views.add_webhook, name="add-webhook"),
    path("webhooks/<int:pk>/<slug:action>/", views.webhook_action, name="webhook-action"),
    path("brands/<int:pk>/thresholds/", views.brand_thresholds, name="brand-thresholds"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="dashboard/login.html",
            authentication_form=EmailAuthenticationForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="/login/"), name="logout"),
]
