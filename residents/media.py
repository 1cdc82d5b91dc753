"""Private media: photos and voice samples go only to logged-in staff, through a view.

In production the web server can send the file itself once the view has said yes:
PROTECTED_MEDIA_ACCEL_PREFIX (nginx's X-Accel-Redirect, to an `internal` location that
aliases MEDIA_ROOT) or PROTECTED_MEDIA_SENDFILE (Apache's mod_xsendfile, X-Sendfile).
"""

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse

from residents import passes
from residents.models import Resident
from residents.selectors import resident_pass_png


def protected_file_response(name: str, content_type: str) -> HttpResponse | FileResponse:
    """The stored file ``name``, privately; the caller has checked the staff member's role."""
    if not default_storage.exists(name):
        raise Http404("file missing from storage")
    prefix = settings.PROTECTED_MEDIA_ACCEL_PREFIX
    response: HttpResponse | FileResponse
    if prefix:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + name
    elif settings.PROTECTED_MEDIA_SENDFILE:
        response = HttpResponse(content_type=content_type)
        response["X-Sendfile"] = default_storage.path(name)
    else:
        response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def private_png_response(png: bytes) -> HttpResponse:
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


def pass_download_response(resident: Resident) -> HttpResponse:
    """The resident's printable pass card as a PNG download (staff pages and the API)."""
    response = private_png_response(resident_pass_png(resident))
    filename = passes.pass_filename(room=resident.room, resident_id=resident.pk)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
