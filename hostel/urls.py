from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from hostel import views

urlpatterns = [
    path("health", views.health, name="health"),
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
