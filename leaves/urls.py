from django.urls import path

from leaves import views

app_name = "leaves"

urlpatterns = [
    path("", views.leave_list, name="list"),
    path("new/<uuid:pk>", views.leave_new, name="new"),
    path("<uuid:pk>/", views.leave_detail, name="detail"),
    path("<uuid:pk>/approve", views.leave_decide, {"decision": "approve"}, name="approve"),
    path("<uuid:pk>/refuse", views.leave_decide, {"decision": "refuse"}, name="refuse"),
]
