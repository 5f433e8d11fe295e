from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The agency's web pages: sign-in, the live overview and one page per campaign."""

    name = "dashboard"
    verbose_name = "Dashboard"
