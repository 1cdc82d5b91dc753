"""Logging in: lockout after repeated failures (django-axes), throttled token views, and
tokens that a password change voids.

A staff member who mistypes LOGIN_FAILURE_LIMIT (5) passwords in a row from one address is
locked out of the login page, the admin and /api/token for LOGIN_LOCKOUT_MINUTES (15); a
superuser unlocks them sooner in the admin (Axes → Access attempts: delete the entry) or
with `manage.py axes_reset_username USERNAME`.
"""

import functools
import ipaddress
from collections.abc import Callable
from functools import wraps
from typing import Any

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import backends, get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from hostel.parsers import JSONParser
from hostel.throttles import rate_exceeded


def client_address(request: HttpRequest) -> str:
    """The client's address, for lockouts: the connection's, or behind TRUSTED_PROXY_COUNT
    proxies the one the outermost proxy appended to X-Forwarded-For (entries further left
    are the client's own words). IPv6 clients count per /64, which one host can fill."""
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if proxies and forwarded:
        address = forwarded[-min(proxies, len(forwarded))]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"Too many failed logins for this account from here. Try again in {minutes} minutes, "
        "or ask an administrator to unlock it."
    )


class LockedOut(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"


def locked_out(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer to a locked-out login: a page, or the API's error shape."""
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    response: HttpResponse
    if request.path.startswith("/api/"):
        body = {"error": {"code": "locked_out", "message": lockout_message()}}
        response = JsonResponse(body, status=429)
    else:
        context = {"message": lockout_message()}
        response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = retry_after
    return response


def rate_limited(
    scope: str, rate: Callable[[], str], message: str, *, keys: Callable[[HttpRequest], list[str]]
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """A page's POSTs at most ``rate()`` per key (each of ``keys(request)``), else a 429 page
    saying ``message``. GETs are never counted."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method == "POST":
                for key in keys(request):
                    wait = rate_exceeded(f"{scope}:{key}", rate())
                    if wait:
                        response = render(
                            request,
                            "registration/locked_out.html",
                            {"message": message},
                            status=429,
                        )
                        response["Retry-After"] = str(int(wait) + 1)
                        return response
            return view(request, *args, **kwargs)

        return limited

    return decorate


def _address(request: HttpRequest) -> list[str]:
    return [client_address(request)]


# Logins posted from one address, whatever the username, at most THROTTLE_LOGIN: the
# per-account lockout alone would let one address try a password on every account.
login_rate_limited = rate_limited(
    "login-page",
    lambda: settings.THROTTLE_LOGIN,
    "Too many login attempts from here. Wait a minute.",
    keys=_address,
)
# Password changes check the old password outside django-axes: limited per account.
password_change_rate_limited = rate_limited(
    "password-change",
    lambda: settings.THROTTLE_LOGIN,
    "Too many attempts to change this password. Wait a minute.",
    keys=lambda request: [str(request.user.pk)],
)
# Reset emails: per address and per recipient, so nobody floods a staff member's inbox.
password_reset_rate_limited = rate_limited(
    "password-reset",
    lambda: settings.THROTTLE_PASSWORD_RESET,
    "Too many password reset requests. Wait a while, or ask an administrator.",
    keys=lambda request: [
        client_address(request),
        "to:" + str(request.POST.get("email", "")).strip().lower()[:254],
    ],
)


class TokenObtainPairSerializer(jwt_serializers.TokenObtainPairSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # As long as a username can be (an unbounded one broke the lockout's record: a 500).
        self.fields[self.username_field] = serializers.CharField(write_only=True, max_length=150)


class TokenObtainPairView(jwt_views.TokenObtainPairView):
    """POST /api/token, throttled per client address, refusing locked-out accounts."""

    throttle_scope = "login"
    serializer_class = TokenObtainPairSerializer
    parser_classes = [JSONParser]

    @extend_schema(
        responses=inline_serializer(
            "TokenPair",
            {
                "access": serializers.CharField(help_text="JWT for the API; short-lived."),
                "refresh": serializers.CharField(help_text="JWT for /api/token/refresh."),
            },
        )
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.AuthenticationFailed:
            # django-axes marks the request it refused; its middleware sees only the
            # Django request under DRF's, so the answer is given here.
            if getattr(request, "axes_locked_out", False):
                raise LockedOut(lockout_message()) from None
            raise


class TokenRefreshView(jwt_views.TokenRefreshView):
    throttle_scope = "refresh"
    parser_classes = [JSONParser]


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """A refresh token of a password since changed (or of a removed or inactive account)
    is refused, as access tokens are (SIMPLE_JWT["CHECK_REVOKE_TOKEN"])."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = RefreshToken(attrs["refresh"])
        user_id = refresh.payload.get(jwt_settings.USER_ID_CLAIM)
        user = get_user_model().objects.filter(**{jwt_settings.USER_ID_FIELD: user_id}).first()
        if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
            raise exceptions.AuthenticationFailed(
                "No active account found for this token.", code="no_active_account"
            )
        claim = refresh.payload.get(jwt_settings.REVOKE_TOKEN_CLAIM)
        if claim != get_md5_hash_password(user.password):
            raise exceptions.AuthenticationFailed(
                "The password has been changed since this token was issued. Log in again.",
                code="password_changed",
            )
        return super().validate(attrs)


class ModelBackend(backends.ModelBackend):
    """Django's ModelBackend, reading a user's own and their groups' permissions in one
    statement, written out once, instead of two ORM queries. Every API request checks a
    permission on a freshly loaded user, so the gate pays this on every scan: under load
    the two queries' compilation was an eighth of a worker's CPU (py-spy). The rules are
    Django's (active users only; a superuser has every permission), and a test holds the
    result to Django's own backend for every kind of user."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            with connection.cursor() as cursor:
                every, granted = _permissions_sql()
                if user_obj.is_superuser:
                    cursor.execute(every)
                else:
                    cursor.execute(granted, [user_obj.pk, user_obj.pk])
                rows = cursor.fetchall()
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in rows}
        perms: set[str] = user_obj._perm_cache
        return perms


@functools.cache
def _permissions_sql() -> tuple[str, str]:
    """(every permission, a user's own and their groups') as (app_label, codename) rows."""
    User = get_user_model()
    user_permissions = User.user_permissions.through._meta
    user_groups = User.groups.through._meta
    group_permissions = Group.permissions.through._meta

    def column(meta: Any, field: str) -> str:
        return str(meta.get_field(field).column)

    every = (
        f"SELECT ct.app_label, p.codename FROM {Permission._meta.db_table} p "
        f"JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id"
    )
    user_key, group_key = str(User._meta.model_name), "group"
    granted = (
        f"{every} WHERE p.id IN ("
        f"SELECT up.{column(user_permissions, 'permission')} FROM {user_permissions.db_table} up "
        f"WHERE up.{column(user_permissions, user_key)} = %s "
        f"UNION SELECT gp.{column(group_permissions, 'permission')} "
        f"FROM {group_permissions.db_table} gp JOIN {user_groups.db_table} ug "
        f"ON ug.{column(user_groups, group_key)} = gp.{column(group_permissions, group_key)} "
        f"WHERE ug.{column(user_groups, user_key)} = %s)"
    )
    return every, granted


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's, and a new password also lifts a lockout: whoever proved they own the
    account's email can log in with it at once."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        axes_reset(username=form.user.get_username())
        return response
