"""A resident has no status until their first scan (and the time it last changed is kept);
one email address per resident; the default gate is marked, not the alphabetically first;
a denied attempt's scan id may name nobody.

Residents never scanned lose the OUT they were given by default. The main gate (created by
0004) becomes the default, as the API assumed before. Duplicate email addresses (in any
case) must be resolved before this migration can add the constraint; it lists them.
"""

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


def forget_unscanned_status(apps, schema_editor):
    Resident = apps.get_model("residents", "Resident")
    Resident.objects.filter(last_scan_at__isnull=True).update(status=None)
    # Until now only scans changed a status: it changed at the last one.
    Resident.objects.update(status_changed_at=models.F("last_scan_at"))


def unknown_status_is_out(apps, schema_editor):
    Resident = apps.get_model("residents", "Resident")
    Resident.objects.filter(status__isnull=True).update(status="OUT")


def forget_denied_scan_ids(apps, schema_editor):
    # Backwards only: a denied attempt's scan id may name nobody, which 0010 cannot hold.
    # These rows serve retries only; the denied blocks stay in the ledger.
    apps.get_model("residents", "ScanRequest").objects.filter(resident__isnull=True).delete()


def mark_main_gate_default(apps, schema_editor):
    apps.get_model("residents", "Gate").objects.filter(slug="main").update(is_default=True)


def refuse_duplicate_emails(apps, schema_editor):
    duplicates = (
        apps.get_model("residents", "Resident")
        .objects.exclude(email="")
        .values(lowered=Lower("email"))
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("lowered", flat=True)
    )
    if duplicates:
        raise RuntimeError(
            "Several residents share an email address (compared without case): "
            + ", ".join(sorted(duplicates))
            + ". Give each a different one, or none, with the previous release still running "
            "(its admin), or in `manage.py dbshell`, e.g. UPDATE residents_resident SET "
            "email = '' WHERE id = '<id>'; then migrate again."
        )


class Migration(migrations.Migration):

    dependencies = [
        ('residents', '0010_search_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='resident',
            name='residents_status_valid',
        ),
        migrations.AddField(
            model_name='gate',
            name='is_default',
            field=models.BooleanField(default=False, help_text='The gate an API client records at when it names none (at most one). Devices at the gate always ask which gate they stand at.', verbose_name='default'),
        ),
        migrations.AlterField(
            model_name='resident',
            name='status',
            field=models.CharField(blank=True, choices=[('IN', 'In'), ('OUT', 'Out')], max_length=3, null=True),
        ),
        migrations.AddField(
            model_name='resident',
            name='status_changed_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name='scanrequest',
            name='resident',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='residents.resident'),
        ),
        migrations.RunPython(migrations.RunPython.noop, forget_denied_scan_ids),
        migrations.RunPython(forget_unscanned_status, unknown_status_is_out),
        migrations.RunPython(mark_main_gate_default, migrations.RunPython.noop),
        migrations.RunPython(refuse_duplicate_emails, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='gate',
            constraint=models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('is_default',), name='residents_one_default_gate', violation_error_message='Another gate is already the default.'),
        ),
        migrations.AddConstraint(
            model_name='resident',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['IN', 'OUT']), ('status__isnull', True), _connector='OR'), name='residents_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='resident',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('email'), condition=models.Q(('email', ''), _negated=True), name='residents_email_unique', violation_error_code='duplicate_email', violation_error_message='Another resident already has this email address.'),
        ),
    ]
