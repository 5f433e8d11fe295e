"""The sign-in form: Django's own, asking for the email the user logs in with."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm


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
