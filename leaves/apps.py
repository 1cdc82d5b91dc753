from django.apps import AppConfig


class LeavesConfig(AppConfig):
    name = "leaves"
    verbose_name = "Leave"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The ledger learns leave's events; the gate learns what to record and say of a
        # resident passing during a leave (residents never import leaves).
        from leaves import gate
        from ledger import registry
        from residents import scan_hooks

        template = "residents/_ledger_event.html"
        registry.register(
            event_types=[
                registry.EventType("leave_request", "Leave requests", "resident_id", template),
                registry.EventType("leave_approve", "Leave approvals", "resident_id", template),
                registry.EventType("leave_refuse", "Leave refusals", "resident_id", template),
            ],
            csv_columns=["leave_id", "kind", "starts", "ends", "destination", "late"],
        )
        scan_hooks.register(gate.HOOK)
