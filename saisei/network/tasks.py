"""Background tasks for network; they only call services."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from saisei.network import exchange
from saisei.network.models import PeerMessage


@task()
def deliver_peer_message(*, message_pk: int) -> str:
    """Send one signed message to its peer; a network failure or a 5xx is tried again later
    (``saisei worker`` runs the retries), a 4xx is final."""
    status = exchange.deliver(message_pk)
    if status == PeerMessage.Status.PENDING:
        backend = deliver_peer_message.get_backend()
        if backend.supports_defer:
            attempts = PeerMessage.objects.get(pk=message_pk).attempts
            deliver_peer_message.using(
                run_after=timezone.now() + exchange.retry_delay(attempts)
            ).enqueue(message_pk=message_pk)
    return status
