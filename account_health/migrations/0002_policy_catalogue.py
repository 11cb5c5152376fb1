from django.db import migrations

POLICIES = [
    ("order_defect_rate_above_target", "Order defect rate above 1 %", "high",
     "Negative feedback, A-to-z guarantee claims and chargebacks reached 1 % of your orders.",
     "Answer buyers fast, describe items accurately, ship with tracking; the violation resolves itself "
     "once the rate is back under 1 %.", "immediate"),
    ("cancellation_rate_above_target", "Cancellation rate above 2.5 %", "medium",
     "You cancelled more than 2.5 % of your orders before shipping.",
     "Keep stock levels current so you never sell what you do not have; resolves itself under 2.5 %.",
     "immediate"),
    ("late_shipment_rate_above_target", "Late shipment rate above 4 %", "medium",
     "More than 4 % of your orders shipped after their ship-by date.",
     "Raise your handling time to what you can keep and confirm shipment on time; resolves itself under 4 %.",
     "immediate"),
    ("valid_tracking_rate_below_target", "Valid tracking rate below 95 %", "low",
     "Fewer than 95 % of your shipments had a valid tracking number.",
     "Ship with a supported carrier and enter its tracking number; resolves itself at 95 %.", "immediate"),
    ("counterfeit_item", "Counterfeit or inauthentic item", "critical",
     "A product you sold was found not to be authentic.",
     "Remove the listing, provide invoices from your supplier and refund the affected buyers.", "review"),
    ("prohibited_product", "Prohibited product listed", "high",
     "You listed a product that may not be sold on the marketplace.",
     "Delete the listing and check your catalogue against the prohibited products list.", "review"),
    ("off_platform_contact", "Directing buyers off the platform", "medium",
     "You asked a buyer to contact or pay you outside the marketplace.",
     "Keep all communication and payment on the marketplace; confirm you have changed your templates.",
     "review"),
    ("listing_accuracy", "Inaccurate listing", "low",
     "A listing did not match the item delivered.", "Correct the listing text and images.", "immediate"),
]


def create(apps, schema_editor):
    Policy = apps.get_model("account_health", "Policy")
    for code, name, severity, description, how_to_fix, resolution in POLICIES:
        Policy.objects.update_or_create(
            code=code,
            defaults={
                "name": name, "default_severity": severity, "description": description,
                "how_to_fix": how_to_fix, "resolution": resolution,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("account_health", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
