from django.apps import AppConfig


class RegulatoryConfig(AppConfig):
    name = "saisei.regulatory"
    label = "regulatory"
    default_auto_field = "django.db.models.BigAutoField"
