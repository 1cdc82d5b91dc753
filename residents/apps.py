from django.apps import AppConfig


class ResidentsConfig(AppConfig):
    name = "residents"
    verbose_name = "Residents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # verify_chain also replays scans against resident status; the ledger app stays
        # ignorant of residents: the check plugs into its registry.
        from ledger.verification import register_check
        from residents.checks import resident_status_check

        register_check(resident_status_check)
