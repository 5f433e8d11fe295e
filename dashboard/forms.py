"""The dashboard's forms: sign-in (Django's own, asking for the email), a webhook endpoint, a
brand's alert thresholds and a campaign's flight. What they accept is decided by the models and
services they feed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from campaigns.models import Campaign, validate_alert_thresholds
from notifications import services
from notifications.models import EVENT_TYPES


class EmailAuthenticationForm(AuthenticationForm):
    """The field keeps Django's name `username` (django-axes counts failures by it)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account of this agency.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"] = forms.EmailField(
            label="Email",
            max_length=254,
            widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
        )
        self.fields["password"].widget.attrs["autocomplete"] = "current-password"

    def clean_username(self) -> str:
        """Emails are stored lowercased (accounts.UserManager)."""
        return str(self.cleaned_data["username"]).strip().lower()


class WebhookForm(forms.Form):
    """A new endpoint: checked as the API checks it (notifications.services)."""

    url = forms.CharField(label="URL", max_length=2000,
                          widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks"}))
    description = forms.CharField(label="Description", max_length=500, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events", choices=[(t, t) for t in EVENT_TYPES], initial=list(EVENT_TYPES),
        widget=forms.CheckboxSelectMultiple,
    )

    def clean_url(self) -> str:
        return services.validate_endpoint_url(str(self.cleaned_data["url"]).strip())

    def clean_event_types(self) -> list[str]:
        return services.validate_event_types(list(self.cleaned_data["event_types"]))


class AlertThresholdsForm(forms.Form):
    """A brand's alert thresholds as a person types them: "80, 100"."""

    thresholds = forms.CharField(label="Alert at (% of each budget)", max_length=100,
                                 required=False)

    def clean_thresholds(self) -> list[int]:
        text = str(self.cleaned_data["thresholds"])
        parts = [part.strip().rstrip("%").strip() for part in text.split(",") if part.strip()]
        if not all(part.isascii() and part.isdigit() for part in parts):
            raise forms.ValidationError("Whole percentages separated by commas, e.g. 80, 100.")
        thresholds = [int(part) for part in parts]
        validate_alert_thresholds(thresholds)
        return thresholds


class FlightForm(forms.ModelForm):
    """A campaign's flight: the model decides what is valid (`Campaign.clean`, i.e.
    `validate_flight`, and its check constraints), merged with the rest of the stored campaign,
    as the API and the admin do; `services.update_campaign` writes it."""

    class Meta:
        model = Campaign
        fields = ["start_date", "end_date", "lifetime_budget", "pacing"]
        widgets = {"start_date": forms.DateInput(attrs={"type": "date"}),
                   "end_date": forms.DateInput(attrs={"type": "date"})}
        labels = {"start_date": "First day", "end_date": "Last day",
                  "lifetime_budget": "Lifetime budget"}
