"""Background tasks for core; they only call services."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django_tasks import task

from saisei.core.models import Notification


@task()
def send_notification_email(*, notification_ids: list[int]) -> int:
    """E-mail a copy of in-app notifications to users who have an address."""
    sent = 0
    for n in Notification.objects.filter(pk__in=notification_ids).select_related("user"):
        if n.user.email:
            link = f"{settings.SAISEI_BASE_URL}{n.link}" if n.link else ""
            send_mail(
                n.subject,
                f"{n.body}\n\n{link}".strip(),
                settings.DEFAULT_FROM_EMAIL,
                [n.user.email],
            )
            sent += 1
    return sent


@task()
def anchor_ledger() -> int:
    """The daily checkpoint of every audit-ledger chain (file and e-mail, as configured)."""
    from saisei.core.anchors import anchor_create

    return len(anchor_create().records)


@task()
def write_handover_archive(*, archive_id: int) -> str:
    """Write a queued handover archive (``saisei worker`` runs it)."""
    from saisei.core.records import archive_run

    return archive_run(archive_id=archive_id)
