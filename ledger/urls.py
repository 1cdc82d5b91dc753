from django.urls import path

from ledger import views

app_name = "ledger"

urlpatterns = [
    path("", views.block_list, name="list"),
    path("export.csv", views.export_csv, name="export"),
    path("verify", views.verify, name="verify"),
    path("<int:index>", views.block_detail, name="block"),
]
