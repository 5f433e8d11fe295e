from django.db import migrations, models

# Append-only, enforced by PostgreSQL: no UPDATE, DELETE or TRUNCATE of an entry, whoever asks.
# The function lives in the agency's own schema (cloned with it, as its trigger is).
APPEND_ONLY = """
CREATE FUNCTION audit_entry_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_is_append_only();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_is_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER audit_entry_no_truncate ON audit_auditentry;
DROP TRIGGER audit_entry_append_only ON audit_auditentry;
DROP FUNCTION audit_entry_is_append_only();
"""


class Migration(migrations.Migration):

    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("at", models.DateTimeField()),
                ("actor_type", models.CharField(choices=[("user", "User"), ("token", "Token")],
                                                max_length=5)),
                ("actor_id", models.BigIntegerField()),
                ("actor_name", models.CharField(max_length=254)),
                ("action", models.CharField(choices=[
                    ("create", "Create"), ("update", "Update"), ("delete", "Delete"),
                    ("pause", "Pause"), ("resume", "Resume"), ("revoke", "Revoke")],
                    max_length=6)),
                ("object_type", models.CharField(choices=[
                    ("brand", "Brand"), ("campaign", "Campaign"), ("schedule", "Schedule"),
                    ("token", "Token"), ("webhook", "Webhook")], max_length=8)),
                ("object_id", models.BigIntegerField()),
                ("changes", models.JSONField(default=dict)),
            ],
            options={
                "verbose_name_plural": "audit entries",
                "ordering": ["-id"],
                "indexes": [models.Index(fields=["object_type", "object_id", "-id"],
                                         name="audit_audit_object__8f37ff_idx")],
            },
        ),
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
    ]
