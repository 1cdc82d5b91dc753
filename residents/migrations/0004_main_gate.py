"""A first gate, so scanning works before anyone configures gates."""

from django.db import migrations


def create_main_gate(apps, schema_editor):
    apps.get_model("residents", "Gate").objects.get_or_create(
        slug="main", defaults={"name": "Main gate", "mode": "toggle"}
    )


class Migration(migrations.Migration):
    dependencies = [("residents", "0003_gates_and_scans")]

    operations = [migrations.RunPython(create_main_gate, migrations.RunPython.noop)]
