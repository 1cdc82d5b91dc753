from django.urls import path

from residents import views

app_name = "residents"

urlpatterns = [
    path("", views.resident_list, name="list"),
    path("new", views.resident_register, name="register"),
    path("out", views.residents_out, name="out"),
    path("passes", views.pass_sheet, name="pass_sheet"),
    path("move-out", views.residents_move_out, name="move_out_many"),
    path("import", views.residents_import, name="import"),
    path("import/residents.csv", views.import_template, name="import_template"),
    path("<uuid:pk>/", views.resident_detail, name="detail"),
    path("<uuid:pk>/edit", views.resident_edit, name="edit"),
    path("<uuid:pk>/move-out", views.resident_deactivate, name="deactivate"),
    path("<uuid:pk>/move-back-in", views.resident_reactivate, name="reactivate"),
    path("<uuid:pk>/status", views.resident_status, name="status"),
    path("<uuid:pk>/receipt/<int:index>", views.resident_receipt, name="receipt"),
    path("<uuid:pk>/samples", views.resident_sample_add, name="sample_add"),
    path("<uuid:pk>/samples/<int:sample>", views.resident_sample, name="sample"),
    path("<uuid:pk>/photo", views.resident_photo, name="photo"),
    path("<uuid:pk>/voice", views.resident_voice, name="voice"),
    path("<uuid:pk>/pass", views.pass_card, name="pass"),
    path("<uuid:pk>/pass.png", views.pass_png, name="pass_png"),
    path("<uuid:pk>/qr.png", views.pass_qr, name="pass_qr"),
    path("<uuid:pk>/pass/reissue", views.pass_reissue, name="pass_reissue"),
]
