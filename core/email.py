"""E-mail through the outbox: queued with the change, sent once after commit."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from core import clock, outbox
from core.models import OutboxEvent, OutgoingEmail

TOPIC = "email.queued"


def email_queue(
    *, to: str, template: str, context: dict[str, Any], language: str = "en"
) -> OutgoingEmail:
    """Render ``emails/<template>.txt`` (first line: subject) in ``language`` and queue it.

    Call inside the transaction of the change: a rollback then leaves neither mail nor event.
    """
    with translation.override(language):
        rendered = render_to_string(f"emails/{template}.txt", context).strip()
    subject, _, body = rendered.partition("\n")
    email = OutgoingEmail.objects.create(
        to=to,
        subject=subject.strip()[:300],
        body=body.strip() + "\n",
        language=language,
        template=template,
    )
    outbox.emit(TOPIC, {"email_id": str(email.id)})
    return email


@outbox.register(TOPIC)
def deliver_queued_email(event: OutboxEvent) -> None:
    """Send one queued e-mail; the row lock and status make a second send impossible."""
    with transaction.atomic():
        email = (
            OutgoingEmail.objects.select_for_update()
            .filter(id=event.payload["email_id"], status=OutgoingEmail.Status.QUEUED)
            .first()
        )
        if email is None:
            return
        message = EmailMessage(
            subject=email.subject,
            body=email.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email.to],
            # A stable Message-ID lets a mail server drop the copy should a crash after the
            # hand-over
            # but before the commit ever make us send it twice.
            headers={"Message-ID": f"<{email.id}@marketplace>"},
        )
        message.send(fail_silently=False)
        email.status = OutgoingEmail.Status.SENT
        email.sent_at = clock.now()
        email.save(update_fields=["status", "sent_at"])
