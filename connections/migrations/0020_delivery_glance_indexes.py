from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("connections", "0019_inbound_secret_overlap"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("status", "sent")),
                fields=["connection", "sent_at"],
                name="delivery_connection_sent",
            ),
        ),
    ]
