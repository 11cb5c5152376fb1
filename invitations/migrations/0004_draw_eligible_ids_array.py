import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    """Eligible ids of a draw as bigint[] with EXTERNAL storage (out of line, not compressed):
    for a million requests the compressed JSON list was most of the cost of writing a draw."""

    dependencies = [
        ("invitations", "0003_drop_status_appeals_quantities"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=[
                        "ALTER TABLE invitations_draw ALTER COLUMN eligible_request_ids"
                        " TYPE bigint[] USING translate(eligible_request_ids::text, '[]', '{}')"
                        "::bigint[]",
                        "ALTER TABLE invitations_draw ALTER COLUMN eligible_request_ids"
                        " SET STORAGE EXTERNAL",
                    ],
                    reverse_sql=[
                        "ALTER TABLE invitations_draw ALTER COLUMN eligible_request_ids"
                        " SET STORAGE EXTENDED",
                        "ALTER TABLE invitations_draw ALTER COLUMN eligible_request_ids"
                        " TYPE jsonb USING to_jsonb(eligible_request_ids)",
                    ],
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="draw",
                    name="eligible_request_ids",
                    field=django.contrib.postgres.fields.ArrayField(
                        base_field=models.BigIntegerField(), default=list, size=None
                    ),
                ),
            ],
        ),
    ]
