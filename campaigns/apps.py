from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Budgets"

    def ready(self) -> None:
        from campaigns import signals  # noqa: F401  (connects post_migrate)
