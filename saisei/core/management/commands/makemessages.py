"""Django's makemessages, also extracting ``_l(...)`` (our alias for gettext_lazy)."""

from django.core.management.commands.makemessages import Command as BaseCommand


class Command(BaseCommand):
    xgettext_options = [*BaseCommand.xgettext_options, "--keyword=_l"]
