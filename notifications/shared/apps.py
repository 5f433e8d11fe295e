from django.apps import AppConfig


class NotificationsSharedConfig(AppConfig):
    name = "notifications.shared"
    label = "notifications_shared"
    verbose_name = "Webhook delivery schedule"
