from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "saisei.outcomes"
    label = "outcomes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from saisei.outcomes.signals import course_step_saved

        post_save.connect(
            course_step_saved, sender="journey.CourseStep", dispatch_uid="outcomes_replan"
        )
