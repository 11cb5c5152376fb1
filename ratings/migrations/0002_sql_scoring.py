from django.db import migrations, models

# The SQL scorer joins the calendar; a date it does not cover must stop the scoring, not be scored
# as if no business day had passed.
CALENDAR_GAP = """
CREATE OR REPLACE FUNCTION ratings_calendar_gap(country text, day date) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE EXCEPTION 'ratings: the business-day calendar of % does not cover %', country, day
    USING ERRCODE = 'data_exception';
END
$$;
"""

FIRED = (
    "a_to_z_claim",
    "chargeback_seller_fault",
    "negative_feedback",
    "cancelled_by_seller",
    "delivered_late",
    "no_reply_24h",
    "late_shipment",
)
CONDITIONS = (
    "delivered_within_3_business_days",
    "valid_tracking",
    "delivered_by_promised_date",
    "no_refund_or_concession",
)


def _array(names):
    return "ARRAY[" + ", ".join(f"'{name}'" for name in names) + "]"


# Scores stored before carry their trace as JSON: keep it, as masks.
TRACE_TO_MASKS = f"""
UPDATE ratings_orderscore SET
  fired = coalesce((SELECT sum(1 << (array_position({_array(FIRED)}, f) - 1))
                    FROM jsonb_array_elements_text(trace -> 'fired') f), 0),
  bonus = coalesce((SELECT sum(1 << (array_position({_array(CONDITIONS)}, c ->> 'condition') - 1))
                    FROM jsonb_array_elements(trace -> 'bonus' -> 'conditions') c
                    WHERE (c ->> 'met')::boolean), 0)
WHERE trace ? 'fired'
"""


class Migration(migrations.Migration):
    dependencies = [
        ("ratings", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="BusinessDay",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "country",
                        "day",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("country", models.CharField(max_length=2)),
                ("day", models.DateField()),
                ("ordinal", models.IntegerField()),
            ],
        ),
        migrations.AddField(
            model_name="orderscore",
            name="bonus",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="orderscore",
            name="fired",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.RunSQL(TRACE_TO_MASKS, migrations.RunSQL.noop),
        migrations.RemoveField(
            model_name="orderscore",
            name="trace",
        ),
        migrations.RunSQL(
            CALENDAR_GAP, "DROP FUNCTION IF EXISTS ratings_calendar_gap(text, date)"
        ),
    ]
