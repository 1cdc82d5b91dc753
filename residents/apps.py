from django.apps import AppConfig


class ResidentsConfig(AppConfig):
    name = "residents"
    verbose_name = "Residents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The ledger stays ignorant of residents: they tell it what their events are, which
        # fields its filters and CSV export offer, and add the status replay to verify_chain.
        from ledger import registry
        from residents.checks import resident_status_check
        from residents.denials import DENIED
        from residents.models import ScanMode
        from residents.scan_selectors import gate_choices
        from residents.selectors import resident_lookup

        template = "residents/_ledger_event.html"
        registry.register(
            event_types=[
                registry.EventType("scan", "Scans", "resident_id", template),
                registry.EventType("register", "Registrations", "resident_id", template),
                registry.EventType("update", "Edits", "resident_id", template),
                registry.EventType("deactivate", "Move-outs", "resident_id", template),
                registry.EventType("reactivate", "Moves back in", "resident_id", template),
                registry.EventType("status", "Statuses set by staff", "resident_id", template),
                registry.EventType("pass_reissue", "Pass reissues", "resident_id", template),
                registry.EventType("denied", "Denied attempts", "resident_id", template),
            ],
            fields=[
                registry.EventField("mode", "Mode", ("scan", "denied"), tuple(ScanMode.choices)),
                registry.EventField("gate", "Gate", ("scan", "denied"), options=gate_choices),
                registry.EventField("code", "Refusal", ("denied",), tuple(DENIED.items())),
            ],
            csv_columns=[
                "resident_id",
                "resident_name",
                "room",
                "mode",
                "status",
                "code",
                "gate",
                "by",
            ],
            subject=registry.Subject(
                param="resident",
                label="Resident",
                lookup=resident_lookup,
                hint="Resident: name or room",
            ),
            checks=[resident_status_check],
        )
