"""`/api/v1/` routes of events and webhooks (included by saas.urls_api)."""

from rest_framework.routers import SimpleRouter

from notifications.api.views import EventViewSet, WebhookViewSet


class OptionalSlashRouter(SimpleRouter):
    """`/api/v1/webhooks` as the contract writes it, and `/api/v1/webhooks/` too."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("events", EventViewSet, basename="event")
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = router.urls
