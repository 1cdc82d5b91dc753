"""Logs: one JSON object a line in production, each with the id of the request it belongs to.

RequestIdMiddleware takes the id from the proxy's X-Request-ID header (or makes one), keeps
it for the request's log records and returns it in the response, so a guard's complaint, the
nginx access log and the application's records can be matched. Errors go to settings.ADMINS
by mail when DEBUG is off.
"""

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.debug import SafeExceptionReporterFilter

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Attributes every LogRecord has; anything else was passed as extra= and is logged too.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_STANDARD -= {"request_id"}


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        given = request.headers.get("X-Request-ID", "")
        request_id.set(given if _VALID_ID.fullmatch(given) else uuid.uuid4().hex)
        response = self.get_response(request)
        response.headers["X-Request-ID"] = request_id.get()
        return response


def _forget_request_id(**kwargs: Any) -> None:
    # Only when the response is finished: Django's own line for a 4xx or 5xx answer
    # ("django.request") is written after every middleware has returned.
    request_id.set("-")


request_finished.connect(_forget_request_id, dispatch_uid="hostel.logs.forget_request_id")


_make_record = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _make_record(*args, **kwargs)
    record.request_id = request_id.get()
    return record


class NoRequestDataFilter(SafeExceptionReporterFilter):
    """Error reports (the mails to ADMINS) without the request's form or upload fields."""

    def get_post_parameters(self, request: HttpRequest | None) -> dict[str, str]:
        if request is None:
            return {}
        return dict.fromkeys(request.POST, self.cleansed_substitute)


class WorthAMail(logging.Filter):
    """Mail errors that need a person: not a 503 (the database or the ledger was busy and the
    client was told to retry; it is logged), not a stranger's bad Host header."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 503:
            return False
        return not record.name.startswith("django.security.DisallowedHost")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {
            key: value
            for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_") and key != "request"
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def config(*, json: bool, level: str) -> dict[str, Any]:
    """settings.LOGGING: the console (JSON or plain) for everything, mail for errors. Every
    record made from now on carries the request id (a LogRecord factory, so that any
    handler sees it)."""
    logging.setLogRecordFactory(_record_with_request_id)
    console = "json" if json else "plain"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "production": {"()": "django.utils.log.RequireDebugFalse"},
            "worth_a_mail": {"()": WorthAMail},
        },
        "formatters": {
            "json": {"()": JsonFormatter},
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": console},
            "mail_admins": {
                "class": "django.utils.log.AdminEmailHandler",
                "level": "ERROR",
                "filters": ["production", "worth_a_mail"],
            },
        },
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": {
            # Replaces Django's default "django" logger, whose own mail handler would send
            # every error twice.
            "django": {"handlers": ["console", "mail_admins"], "level": "INFO", "propagate": False},
            "hostel": {"level": level},
            "ledger": {"level": level},
            "residents": {"level": level},
            "axes": {"level": "WARNING"},
        },
    }
