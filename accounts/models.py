"""Users log in by email. The table exists in the public schema (the platform operator) and in
every agency schema (that agency's people), so one agency's users never reach another's admin."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


def login_username(request: Any, credentials: dict[str, Any] | None) -> str:
    """The email a sign-in attempt names, as stored (lowercased), for django-axes' counts: a
    case variant of an email is no fresh set of attempts."""
    username = (credentials or {}).get("username") or ""
    return str(username).strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        """Emails are stored lowercased, so `Boss@Acme.example` signs in as boss@acme.example
        on every form (the admin's passes the email as typed)."""
        return super().get_by_natural_key((username or "").strip().lower())

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.email
