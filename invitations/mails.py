"""E-mails to many customers at once (a draw's winners, the not-drawn notices).

The same rows and outbox events as ``core.email.email_queue``, so the same relay handler sends
them once each; but each text is rendered once per language and variant, and rows and events are
written in bulk: ten thousand winners are a few INSERTs, not twenty thousand.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from core.email import TOPIC
from core.models import OutboxEvent, OutgoingEmail
from invitations.constants import BULK_BATCH_SIZE


def mails_queue(
    template: str,
    recipients: Sequence[tuple[str, str, Hashable]],
    contexts: Mapping[Hashable, dict[str, Any]],
) -> int:
    """Queue ``template`` to each (address, language, context key); call inside the transaction
    of the change, like ``email_queue``. Returns how many were queued."""
    rendered: dict[tuple[str, Hashable], tuple[str, str]] = {}
    emails = []
    for to, language, variant in recipients:
        if (language, variant) not in rendered:
            with translation.override(language):
                text = render_to_string(f"emails/{template}.txt", contexts[variant]).strip()
            subject, _, body = text.partition("\n")
            rendered[language, variant] = (subject.strip()[:300], body.strip() + "\n")
        subject, body = rendered[language, variant]
        emails.append(
            OutgoingEmail(to=to, subject=subject, body=body, language=language, template=template)
        )
    OutgoingEmail.objects.bulk_create(emails, batch_size=BULK_BATCH_SIZE)
    OutboxEvent.objects.bulk_create(
        [OutboxEvent(topic=TOPIC, payload={"email_id": str(email.id)}) for email in emails],
        batch_size=BULK_BATCH_SIZE,
    )
    return len(emails)
