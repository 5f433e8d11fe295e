"""The signup page's form: field checks only; the rules live in tenants.services."""

from __future__ import annotations

from django import forms


class SignupForm(forms.Form):
    name = forms.CharField(label="Agency name", max_length=200)
    slug = forms.CharField(
        label="Address",
        max_length=30,
        help_text="3 to 30 characters: lowercase letters, digits or '-', a letter first.",
    )
    email = forms.EmailField(label="Your email", max_length=254)
    password = forms.CharField(
        label="Password", max_length=128, strip=False, widget=forms.PasswordInput
    )
