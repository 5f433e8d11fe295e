from django.urls import path
from rest_framework.routers import SimpleRouter

from campaigns.api.spend import SpendBatchView, record_spend
from campaigns.api.views import BrandViewSet, CampaignViewSet


class OptionalSlashRouter(SimpleRouter):
    """`/api/v1/brands` as the contract writes it, and `/api/v1/brands/` too."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("brands", BrandViewSet, basename="brand")
router.register("campaigns", CampaignViewSet, basename="campaign")

urlpatterns = [
    path("spend", record_spend, name="spend"),
    path("spend/batch", SpendBatchView.as_view(), name="spend-batch"),
    *router.urls,
]
