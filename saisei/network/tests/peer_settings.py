"""Settings of the second installation in the two-installation test: Saisei's own, with the
tables made from the models (``migrate --run-syncdb``) instead of by replaying every migration,
which keeps the test within its time on a small machine."""

from saisei.settings import *  # noqa: F403
from saisei.settings import INSTALLED_APPS

MIGRATION_MODULES = {label.rsplit(".", 1)[-1]: None for label in INSTALLED_APPS}
