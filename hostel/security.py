"""Response headers that tell the browser what a page may do.

Permissions-Policy: no page may use the camera, the microphone or the position, except
those a view marks with @capture_allowed (the scan page, the register and edit forms).
The Content-Security-Policy itself comes from django-csp (settings.CONTENT_SECURITY_POLICY).
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

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
