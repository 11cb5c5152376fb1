from django.db import migrations, models


class Migration(migrations.Migration):
    """Two facts of each request's verdict as columns, filled from the verdicts already stored:
    the batch screening reads them on every request of a drop, and testing the JSON of a million
    verdicts was a large part of its cost."""

    dependencies = [
        ("invitations", "0005_request_drop_index_covered"),
    ]

    operations = [
        migrations.AddField(
            model_name="invitationrequest",
            name="has_batch_rules",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name="invitationrequest",
            name="is_fresh",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunSQL(
            sql="""
                UPDATE invitations_invitationrequest
                   SET is_fresh = verdict @> '{"fired": [{"code": "no_purchase_history"}]}',
                       has_batch_rules = verdict @> '{"fired": [{"stage": "batch"}]}'
                 WHERE verdict @> '{"fired": [{"code": "no_purchase_history"}]}'
                    OR verdict @> '{"fired": [{"stage": "batch"}]}'
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
