from collections.abc import Callable

from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http.response import HttpResponseBase
from django.urls import URLPattern, include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from hostel import views
from hostel.auth import (
    PasswordResetConfirmView,
    TokenObtainPairView,
    TokenRefreshView,
    login_rate_limited,
    password_change_rate_limited,
    password_reset_rate_limited,
)
from leaves import api as leaves_api
from leaves import views as leaves_views
from ledger import api as ledger_api
from reports import api as reports_api
from residents import api as residents_api
from residents import scan_api
from residents import views as residents_views
from visitors import api as visitors_api


def api_path(route: str, view: Callable[..., HttpResponseBase], name: str) -> list[URLPattern]:
    """An API route that answers with and without a trailing slash (no redirects)."""
    return [path(f"api/{route}", view, name=name), path(f"api/{route}/", view)]


# Swagger UI sets inline styles; the rest of its page keeps the site's policy.
docs_view = csp_update({"style-src": ["'self'", "'unsafe-inline'"]})(
    login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema"))
)

api_urlpatterns = [
    *api_path("token", TokenObtainPairView.as_view(), "api-token"),
    *api_path("token/refresh", TokenRefreshView.as_view(), "api-token-refresh"),
    *api_path("register", residents_api.ResidentRegisterApi.as_view(), "api-register"),
    *api_path("residents", residents_api.ResidentListApi.as_view(), "api-residents"),
    *api_path("residents/import", residents_api.ResidentImportApi.as_view(), "api-import"),
    *api_path("residents/<uuid:pk>", residents_api.ResidentDetailApi.as_view(), "api-resident"),
    *api_path(
        "residents/<uuid:pk>/samples",
        residents_api.ResidentSampleApi.as_view(),
        "api-resident-samples",
    ),
    *api_path(
        "residents/<uuid:pk>/photo", residents_api.ResidentPhotoApi.as_view(), "api-resident-photo"
    ),
    *api_path(
        "residents/<uuid:pk>/pass.png", residents_api.ResidentPassApi.as_view(), "api-resident-pass"
    ),
    *api_path("scan", scan_api.ScanApi.as_view(), "api-scan"),
    *api_path("scan/challenge", scan_api.ScanChallengeApi.as_view(), "api-scan-challenge"),
    *api_path("occupancy", scan_api.OccupancyApi.as_view(), "api-occupancy"),
    *api_path("leaves", leaves_api.LeaveListApi.as_view(), "api-leaves"),
    *api_path("leaves/<uuid:pk>", leaves_api.LeaveDetailApi.as_view(), "api-leave"),
    *api_path(
        "leaves/<uuid:pk>/approve",
        leaves_api.LeaveDecideApi.as_view(decision="approve"),
        "api-leave-approve",
    ),
    *api_path(
        "leaves/<uuid:pk>/refuse",
        leaves_api.LeaveDecideApi.as_view(decision="refuse"),
        "api-leave-refuse",
    ),
    *api_path("visitors", visitors_api.VisitorListApi.as_view(), "api-visitors"),
    *api_path("reports/daily", reports_api.DailyReportApi.as_view(), "api-reports-daily"),
    *api_path("reports/muster", reports_api.MusterApi.as_view(), "api-reports-muster"),
    *api_path("reports/occupancy", reports_api.OccupancyReportApi.as_view(), "api-occupancy-30"),
    *api_path(
        "reports/attendance/<uuid:pk>", reports_api.AttendanceApi.as_view(), "api-attendance"
    ),
    *api_path(
        "visitors/<uuid:pk>/check-out",
        visitors_api.VisitorCheckOutApi.as_view(),
        "api-visitor-check-out",
    ),
    *api_path("ledger", ledger_api.LedgerListApi.as_view(), "api-ledger"),
    *api_path("ledger/verify", ledger_api.LedgerVerifyApi.as_view(), "api-ledger-verify"),
    *api_path(
        "ledger/consistency", ledger_api.LedgerConsistencyApi.as_view(), "api-ledger-consistency"
    ),
    *api_path("ledger/<int:index>/proof", ledger_api.LedgerProofApi.as_view(), "api-ledger-proof"),
    *api_path("schema", SpectacularJSONAPIView.as_view(), "api-schema"),
    *api_path(  # a page for people: anonymous visitors are sent to log in
        "docs",
        docs_view,
        "api-docs",
    ),
]

# Before admin.site.urls is read below: its login route takes the method as it is then.
admin.site.login = login_rate_limited(admin.site.login)  # type: ignore[method-assign,assignment]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("health", views.health, name="health"),
    path(
        "login/",
        login_rate_limited(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Staff change their own password, or reset a forgotten one by email (EMAIL_URL).
    path(
        "password/",
        password_change_rate_limited(auth_views.PasswordChangeView.as_view()),
        name="password_change",
    ),
    path(
        "password/changed", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"
    ),
    path(
        "password/reset/",
        password_reset_rate_limited(auth_views.PasswordResetView.as_view()),
        name="password_reset",
    ),
    path(
        "password/reset/sent",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("residents/", include("residents.urls")),
    path("scan/", residents_views.scan_page, name="scan"),
    path("leaves/", include("leaves.urls")),
    path("visitors/", include("visitors.urls")),
    path("reports/", include("reports.urls")),
    path("leave/<str:token>", leaves_views.leave_ask, name="leave-ask"),
    path("dashboard/latest", views.dashboard_latest, name="dashboard-latest"),
    path("ledger/", include("ledger.urls")),
    path("admin/", admin.site.urls),
    *api_urlpatterns,
]

handler400 = "hostel.views.bad_request"
handler403 = "hostel.views.permission_denied"
handler404 = "hostel.views.page_not_found"
handler500 = "hostel.views.server_error"
