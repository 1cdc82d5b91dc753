from django.urls import path

from visitors import views

app_name = "visitors"

urlpatterns = [
    path("", views.visitor_list, name="list"),
    path("new", views.visitor_new, name="new"),
    path("<uuid:pk>/", views.visitor_detail, name="detail"),
    path("<uuid:pk>/qr.png", views.visitor_qr, name="qr"),
    path("<uuid:pk>/photo", views.visitor_photo, name="photo"),
    path("<uuid:pk>/check-out", views.visitor_check_out, name="check_out"),
]
