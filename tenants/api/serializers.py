"""Request and response shapes of the signup and token endpoints, one serializer per use."""

from __future__ import annotations

from rest_framework import serializers

from tenants.models import SCOPES, ApiToken


class SignupRequestSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.CharField(max_length=30)
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TenantSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()
    domain = serializers.CharField()


class SignupResponseSerializer(serializers.Serializer):
    tenant = TenantSerializer()
    admin_url = serializers.CharField()
    token = serializers.CharField()


class TokenSerializer(serializers.ModelSerializer):
    """A token as listed: never its secret or hash."""

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scopes", "created_at", "last_used_at"]
        read_only_fields = fields


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=SCOPES), allow_empty=False, min_length=1,
        max_length=len(SCOPES) * 2
    )


class CreatedTokenSerializer(TokenSerializer):
    """The answer to POST /tokens: the listed fields plus the plaintext, shown this once."""

    token = serializers.CharField(read_only=True)

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields
