from django.apps import AppConfig


class CampaignsSharedConfig(AppConfig):
    name = "campaigns.shared"
    label = "campaigns_shared"
    verbose_name = "Budget pass schedule"
