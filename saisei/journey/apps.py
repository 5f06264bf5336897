from django.apps import AppConfig


class JourneyConfig(AppConfig):
    name = "saisei.journey"
    label = "journey"
    default_auto_field = "django.db.models.BigAutoField"
