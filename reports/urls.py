from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("daily", views.daily, name="daily"),
    path("muster", views.muster, name="muster"),
    path("occupancy", views.occupancy_chart, name="occupancy"),
    path("attendance/<uuid:pk>", views.resident_month, name="attendance"),
]
