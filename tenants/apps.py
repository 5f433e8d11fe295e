from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Agencies"

    def ready(self) -> None:
        from saas import checks  # noqa: F401  (registers the settings' checks)
        from tenants import isolation, signals  # noqa: F401  (connect their receivers)
