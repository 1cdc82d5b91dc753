from django.apps import AppConfig


class ResidentsConfig(AppConfig):
    name = "residents"
    verbose_name = "Residents"
    default_auto_field = "django.db.models.BigAutoField"
