"""Every write of invitations. One module per part of the programme; import from here."""

from invitations.services.draws import (
    draw_run,
    draw_verify,
    draws_due,
    drop_draw_now,
    drops_redraw,
    invitations_expire,
    notify_not_drawn,
)
from invitations.services.drops import drop_close_now, drop_create, drops_advance
from invitations.services.purchase import (
    invitation_consume,
    invitation_for_checkout,
    invitation_order_cancelled,
)
from invitations.services.requests import (
    appeal_decide,
    request_appeal,
    request_create,
    screening_batch,
    token_login_with_facts,
    verdict_override,
)

__all__ = [
    "appeal_decide",
    "draw_run",
    "draw_verify",
    "draws_due",
    "drop_close_now",
    "drop_create",
    "drop_draw_now",
    "drops_advance",
    "drops_redraw",
    "invitation_consume",
    "invitation_for_checkout",
    "invitation_order_cancelled",
    "invitations_expire",
    "notify_not_drawn",
    "request_appeal",
    "request_create",
    "screening_batch",
    "token_login_with_facts",
    "verdict_override",
]
