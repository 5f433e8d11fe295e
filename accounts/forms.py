"""Admin forms for the email-login user (Django's own expect a `username` field)."""

from __future__ import annotations

from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError

from accounts.models import User


class UserAddForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)
        field_classes: dict[str, type] = {}

    def clean_username(self) -> str:
        return ""  # there is no username field: the email identifies the user

    def clean_email(self) -> str:
        """Emails are stored lowercased, so uniqueness is checked the same way."""
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError("A user with this email already exists.", code="unique")
        return email


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict[str, type] = {}
