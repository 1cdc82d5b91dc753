"""Response headers that tell the browser what a page may do.

Permissions-Policy: no page may use the camera, the microphone or the position, except
those a view marks with @capture_allowed (the scan page, the register and edit forms).
The Content-Security-Policy itself comes from django-csp (settings.CONTENT_SECURITY_POLICY).
"""

import ipaddress
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed, PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve

DENY_ALL = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
CAPTURE = "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()"

View = Callable[..., HttpResponseBase]


def capture_allowed(view: View) -> View:
    """This page may ask for the camera and the microphone (of its own origin)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response.headers["Permissions-Policy"] = CAPTURE
        return response

    return wrapped


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", DENY_ALL)
        return response


class DebugOnlyOnLoopback:
    """With DEBUG on, Django's technical pages (every URL pattern, settings, tracebacks) go
    only to this machine. `scripts/serve 0.0.0.0:8000` lets phones on the network try the
    gate; they get the site's own 404, 403 and 500 pages. Unused when DEBUG is off."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        if not settings.DEBUG:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not _from_this_machine(request):
            try:
                resolve(request.path_info)
            except Resolver404:
                from hostel import views

                return views.page_not_found(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        if _from_this_machine(request):
            return None  # the technical page
        from hostel import views

        if isinstance(exception, Http404):
            return views.page_not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return views.permission_denied(request, exception)
        return views.server_error(request)


def _from_this_machine(request: HttpRequest) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False
