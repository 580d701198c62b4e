"""Identity endpoints: login, logout, the current user and API tokens."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, login, logout
from django.db import transaction
from django.db.models import QuerySet
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from informer import services
from informer.api.schema import error_responses
from informer.api.serializers import ApiModelSerializer, ApiSerializer, SelfLinkField
from informer.auth import request_user
from informer.models import ApiToken, User


class LoginSerializer(ApiSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=200, style={"input_type": "password"}, write_only=True)


class MeSerializer(ApiModelSerializer):
    tenant_id = serializers.IntegerField(read_only=True)
    tenant_slug = serializers.CharField(source="tenant.slug", read_only=True)
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "display_name",
            "email",
            "tenant_id",
            "tenant_slug",
            "is_staff",
            "is_superuser",
        ]
        read_only_fields = fields


class LoginView(APIView):
    """``GET /api/login`` gives a CSRF token; ``POST /api/login`` starts a session with it.

    The POST is CSRF-checked like Django's own login form, so that no other site can log a visitor's
    browser into an account of the attacker's choosing. Scripts use bearer tokens instead.
    """

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        summary="A CSRF token for the login (also set as the csrftoken cookie)",
        responses={200: inline_serializer("CsrfToken", {"csrfToken": serializers.CharField()}), **error_responses(429)},
    )
    @method_decorator(ensure_csrf_cookie)
    def get(self, request: Request) -> Response:
        return Response({"csrfToken": get_token(request._request)})

    @extend_schema(
        summary="Log in (session cookie; send the X-CSRFToken header)",
        request=LoginSerializer,
        responses={200: MeSerializer, **error_responses(429)},
    )
    @method_decorator(ensure_csrf_cookie)
    def post(self, request: Request) -> Response:
        # Only the check runs: the middleware is given no response and no view to call.
        reason = CsrfViewMiddleware(lambda _: None).process_view(request._request, None, (), {})  # type: ignore[arg-type]
        if reason is not None:
            raise PermissionDenied("CSRF check failed: GET /api/login first and send its token as X-CSRFToken.")
        body = LoginSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=body.validated_data["username"],
            password=body.validated_data["password"],
        )
        if user is None:
            raise AuthenticationFailed("Invalid username or password.")
        login(request._request, user)
        return Response(MeSerializer(user).data)


class LogoutView(APIView):
    """``POST /api/logout``: end the session."""

    permission_classes = [AllowAny]

    @extend_schema(summary="Log out", request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """``GET /api/me``: who the caller is."""

    @extend_schema(summary="The current user", responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


class ApiTokenSerializer(ApiModelSerializer):
    _links = SelfLinkField()
    expires_days = serializers.IntegerField(write_only=True, required=False, min_value=1, max_value=3650)
    expired = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "_links",
            "id",
            "name",
            "key_hint",
            "created_at",
            "expires_at",
            "last_used_at",
            "expired",
            "expires_days",
        ]
        read_only_fields = ["id", "key_hint", "created_at", "expires_at", "last_used_at"]

    def self_path(self, token: ApiToken) -> str:
        return reverse("token-detail", kwargs={"pk": token.pk})


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret: shown once, now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


@extend_schema_view(
    list=extend_schema(summary="Your API tokens"),
    retrieve=extend_schema(summary="One of your API tokens"),
    create=extend_schema(summary="Create an API token (the secret is shown once)", responses=NewApiTokenSerializer),
    destroy=extend_schema(summary="Revoke an API token"),
)
class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """``/api/tokens``: the caller's own tokens; another user's token does not exist for them."""

    serializer_class = ApiTokenSerializer
    hal_rel = "inf:token"
    sort_fields = {
        "name": "name",
        "createdAt": "created_at",
        "expiresAt": "expires_at",
        "lastUsedAt": "last_used_at",
    }
    default_sort = "-createdAt"
    search_fields = ("name",)

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=request_user(self.request))

    @transaction.atomic
    def create(self, request: Request) -> Response:
        body = ApiTokenSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        token, secret = services.token_create(
            user=request_user(request),
            name=body.validated_data.get("name", ""),
            expires_days=body.validated_data.get("expires_days"),
        )
        token.token = secret  # type: ignore[attr-defined]
        data = NewApiTokenSerializer(token, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["_links"]["self"]["href"]})

    @transaction.atomic
    def perform_destroy(self, instance: ApiToken) -> None:
        services.token_revoke(token=instance)
