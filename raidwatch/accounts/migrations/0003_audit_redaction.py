"""The audit chain covers the details through their digest, so that movements can
be redacted (R11). Entries written before this change are re-chained once, in
order, under the new form: this is the format change itself, made before any
release, not an edit of what the entries say."""

import hashlib
import json

from django.db import migrations, models


def _digest(value):
    return hashlib.sha256(
        json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    ).hexdigest()


def rechain(apps, schema_editor):
    AuditEntry = apps.get_model("accounts", "AuditEntry")
    prev = "0" * 64
    for entry in AuditEntry.objects.order_by("id"):
        entry.details_digest = _digest(entry.details)
        fields = {
            "at": entry.at.isoformat(),
            "actor": entry.actor,
            "action": entry.action,
            "target_type": entry.target_type,
            "target_id": entry.target_id,
            "details": entry.details_digest,
        }
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        entry.prev_hash = prev
        entry.entry_hash = hashlib.sha256((prev + canonical).encode("utf-8")).hexdigest()
        entry.save(update_fields=["details_digest", "prev_hash", "entry_hash"])
        prev = entry.entry_hash


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_desk")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="details_digest",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditentry", name="redacted_at", field=models.DateTimeField(null=True)
        ),
        migrations.RunPython(rechain, migrations.RunPython.noop),
    ]
