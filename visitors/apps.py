from django.apps import AppConfig


class VisitorsConfig(AppConfig):
    name = "visitors"
    verbose_name = "Visitors"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Visitors' events name their host: they show in the host resident's history. The
        # gate's camera reads a visitor's day pass too (residents never import visitors).
        from ledger import registry
        from residents import scan_hooks
        from visitors import gate

        template = "residents/_ledger_event.html"
        registry.register(
            event_types=[
                registry.EventType("visitor_in", "Visitors in", "resident_id", template),
                registry.EventType("visitor_out", "Visitors out", "resident_id", template),
                registry.EventType("visitor_photos_deleted", "Visitor photos deleted"),
            ],
            csv_columns=["visitor_id", "visitor_name"],
        )
        scan_hooks.register_reader(gate.read)
