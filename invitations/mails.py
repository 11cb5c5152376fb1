"""E-mails to many requests' customers at once (a draw's winners, the not-drawn notices).

The same rows and outbox events as ``core.email.email_queue``, so the same relay handler sends
them once each; but each text is rendered once per language and variant, and the e-mails and
their events are two INSERTs of one statement: ten thousand winners are not twenty thousand
round trips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import connection
from django.template.loader import render_to_string
from django.utils import translation

from core.email import TOPIC
from core.models import OutgoingEmail

_QUEUE = """
    WITH texts AS (
        SELECT * FROM unnest(%(languages)s::text[], %(variants)s::int[], %(subjects)s::text[],
                             %(bodies)s::text[]) AS t(language, variant, subject, body)
    ),
    mails AS (
        INSERT INTO core_outgoingemail
            (id, "to", subject, body, language, template, status, created_at)
        SELECT gen_random_uuid(), u.email, t.subject, t.body, u.language, %(template)s,
               %(queued)s, now()
          FROM unnest(%(ids)s::bigint[], %(variant_of)s::int[]) AS w(id, variant)
          JOIN invitations_invitationrequest r ON r.id = w.id
          JOIN marketplace_user u ON u.id = r.customer_id
          JOIN texts t ON t.variant = w.variant
           AND t.language = CASE WHEN u.language = ANY(%(languages)s::text[]) THEN u.language
                                 ELSE %(fallback)s END
        RETURNING id
    )
    INSERT INTO core_outboxevent (id, topic, payload, created_at, attempts, last_error)
    SELECT gen_random_uuid(), %(topic)s, jsonb_build_object('email_id', id::text), now(), 0, ''
      FROM mails
"""


def mails_queue(
    template: str,
    request_ids: Sequence[int],
    variant_of: Sequence[int],
    contexts: Mapping[int, dict[str, Any]],
) -> int:
    """Queue ``template`` to the customer of each request, in the customer's language, with the
    context ``contexts[variant]`` of its variant. Call inside the transaction of the change, like
    ``email_queue``. Returns how many were queued."""
    texts = []
    # Every language a customer may choose (a few): no query to learn which ones are needed.
    for language, _name in settings.LANGUAGES:
        for variant in sorted(set(variant_of)):
            with translation.override(language):
                text = render_to_string(f"emails/{template}.txt", contexts[variant]).strip()
            subject, _, body = text.partition("\n")
            texts.append((language, variant, subject.strip()[:300], body.strip() + "\n"))
    with connection.cursor() as cursor:
        cursor.execute(
            _QUEUE,
            {
                "languages": [t[0] for t in texts],
                "variants": [t[1] for t in texts],
                "subjects": [t[2] for t in texts],
                "bodies": [t[3] for t in texts],
                "template": template,
                "queued": OutgoingEmail.Status.QUEUED,
                "ids": list(request_ids),
                "variant_of": list(variant_of),
                "topic": TOPIC,
                "fallback": settings.LANGUAGE_CODE,
            },
        )
        return cursor.rowcount
