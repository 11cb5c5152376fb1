"""Invitation requests: intake with the cheap screening, batch screening, appeals, overrides."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from psycopg.types.json import Jsonb

from core import clock, outbox
from core.email import email_queue
from core.prepared import PreparedStatement
from invitations import errors, screening
from invitations.choices import AppealStatus, DropStatus, RequestState
from invitations.constants import (
    DRY_RUN_SAMPLES,
    FRESH_NETWORK_SHARE,
    RULES,
    SIGNUP_BURST_LOOKBACK,
)
from invitations.db import grouping_by_sort, roomy_sorts
from invitations.models import Draw, Drop, Invitation, InvitationRequest
from marketplace.authentication import USER_WIDTH, user_columns, user_from_row
from marketplace.choices import OrderStatus
from marketplace.models import Offer, Product, User

JUDGED_STATES = (RequestState.RECEIVED, RequestState.SCREENED_OUT)  # before any draw touched them
VERDICT_BATCH_SIZE = 10_000  # verdicts read per query in the batch screening
VERDICT_WRITE_BATCH_SIZE = 500  # a bulk update is a CASE per row: small batches keep it linear


def request_create(
    drop_id: int,
    customer: User,
    *,
    ip_address: str | None,
    device_id: str = "",
    user_agent: str = "",
    address_id: int | None = None,
    now: datetime | None = None,
    prefetched: IntakeFacts | None = None,
) -> tuple[InvitationRequest, bool]:
    """One request per account and drop; a repeat returns the first one (``created`` False).

    Refused outside the request window or for an address outside the eligible countries, with
    nothing written. An accepted request has committed (durably) when this returns.
    ``prefetched``: the facts the API read with the token login (:func:`token_login_with_facts`);
    used when they were read for this very request, else read again.
    """
    now = now or (prefetched.now if prefetched is not None else None) or clock.now()
    ip = screening.valid_ip(ip_address)
    network = screening.network_of(ip)
    device_id = device_id.strip()[:100]
    inputs = (drop_id, customer.pk, address_id, network, device_id, now)
    if prefetched is not None and prefetched.inputs == inputs:
        drop = prefetched.drop
    else:
        drop = _intake_facts(drop_id, customer, address_id, network, device_id, now)
    if drop is None:
        raise errors.DropNotFound()
    if drop.existing_id is not None:
        existing = InvitationRequest.objects.select_related("invitation").get(pk=drop.existing_id)
        existing.drop = drop  # the answer shows the product: no second query for it
        return existing, False
    is_open = drop.request_opens_at <= now < drop.request_closes_at
    if not is_open or drop.status in {DropStatus.DRAWN, DropStatus.COMPLETED}:
        raise errors.DropNotOpen(
            extra={
                "request_opens_at": drop.request_opens_at.isoformat(),
                "request_closes_at": drop.request_closes_at.isoformat(),
            }
        )
    address_pk, line1, postal_code, country = drop.address
    if address_pk is None:
        raise errors.AddressNotFound() if address_id is not None else errors.AddressRequired()
    if country.upper() not in drop.eligible_countries:
        raise errors.CountryNotEligible(extra={"eligible_countries": drop.eligible_countries})

    verdict = screening.Verdict(
        screening.request_time_rules(
            account_age_days=(now - customer.date_joined).total_seconds() / 86400,
            delivered_orders=drop.delivered_orders,
            email=customer.email,
            user_agent=user_agent,
            same_network_recent=drop.same_network_recent,
            # Accounts on the device lately, this one included.
            same_device_recent=drop.same_device_others + 1 if device_id else 0,
        )
    )
    request = InvitationRequest(
        drop=drop,
        customer=customer,
        address_id=address_pk,
        address_key=screening.address_key(line1, postal_code, country),
        ip_address=ip,
        network=network,
        device_id=device_id,
        user_agent=user_agent[:300],
        state=RequestState.SCREENED_OUT if verdict.is_screened_out else RequestState.RECEIVED,
        verdict=verdict.as_json(),
        screened_category=verdict.category if verdict.is_screened_out else "",
        is_fresh=screening.is_fresh(verdict.fired),
        created_at=now,
    )
    if not _request_insert(request):
        # A parallel request of the same account won the unique key: answer with that one.
        winner = InvitationRequest.objects.get(drop=drop, customer=customer)
        winner.drop = drop
        return winner, False
    return request, True


def _intake_facts(
    drop_id: int,
    customer: User,
    address_id: int | None,
    network: str,
    device_id: str,
    now: datetime,
) -> Drop | None:
    """The drop with everything a request needs, in one statement: its product, the account's
    request if it has one, the address to ship to and the counts of the cheap screening rules.
    Raw SQL compiled once: building this through the ORM cost more than running it."""
    with connection.cursor() as cursor:
        cursor.execute(
            _FACTS,
            {
                "customer_id": customer.pk,
                **_facts_params(drop_id, address_id, network, device_id, now),
            },
        )
        row = cursor.fetchone()
    return _drop_with_facts(row) if row is not None else None


def _facts_params(
    drop_id: int, address_id: int | None, network: str, device_id: str, now: datetime
) -> dict[str, Any]:
    network_rule, device_rule = RULES["network_burst"], RULES["device_reuse"]
    return {
        "drop_id": drop_id,
        "address_id": address_id,
        "delivered": OrderStatus.DELIVERED,
        "network": network if network_rule.window is not None else "",
        "network_since": now - (network_rule.window or timedelta(0)),
        "network_limit": int(network_rule.threshold),
        "device_id": device_id if device_rule.window is not None else "",
        "device_since": now - (device_rule.window or timedelta(0)),
        "device_limit": int(device_rule.threshold),
    }


def _drop_with_facts(row: Sequence[Any]) -> Drop:
    drop_values, rest = row[: len(_DROP_FIELDS)], row[len(_DROP_FIELDS) :]
    drop = Drop.from_db(connection.alias, _DROP_FIELDS, drop_values)
    offer_id, product_id, title, existing_id, *address, delivered, network_recent, device = rest
    drop.offer = Offer.from_db(connection.alias, ["id", "product_id"], [offer_id, product_id])
    drop.offer.product = Product.from_db(connection.alias, ["id", "title"], [product_id, title])
    drop.existing_id = existing_id  # type: ignore[attr-defined]
    drop.address = address  # type: ignore[attr-defined]
    drop.delivered_orders = delivered  # type: ignore[attr-defined]
    drop.same_network_recent = network_recent  # type: ignore[attr-defined]
    drop.same_device_others = device  # type: ignore[attr-defined]
    return drop


_DROP_FIELDS = [field.attname for field in Drop._meta.concrete_fields]
# Column names come from the model, never from input; every value is a bound parameter. Counts
# stop at what the rules ask: "none or some" delivered, and each rule's threshold.
_FACTS = (
    "SELECT "  # noqa: S608
    + ", ".join(f"d.{field.column}" for field in Drop._meta.concrete_fields)
    + """, o.id, p.id, p.title,
       (SELECT id FROM invitations_invitationrequest
         WHERE drop_id = d.id AND customer_id = %(customer_id)s),
       a.id, a.line1, a.postal_code, a.country,
       (SELECT count(*) FROM (SELECT 1 FROM marketplace_order
         WHERE buyer_id = %(customer_id)s AND status = %(delivered)s LIMIT 5) AS delivered),
       CASE WHEN %(network)s = '' THEN 0 ELSE
           (SELECT count(*) FROM (SELECT 1 FROM invitations_invitationrequest
             WHERE network = %(network)s AND created_at >= %(network_since)s
               AND customer_id <> %(customer_id)s LIMIT %(network_limit)s) AS recent) END,
       CASE WHEN %(device_id)s = '' THEN 0 ELSE
           (SELECT count(*) FROM (SELECT DISTINCT customer_id FROM invitations_invitationrequest
             WHERE device_id = %(device_id)s AND created_at >= %(device_since)s
               AND customer_id <> %(customer_id)s LIMIT %(device_limit)s) AS others) END
  FROM invitations_drop d
  JOIN marketplace_offer o ON o.id = d.offer_id
  JOIN marketplace_product p ON p.id = o.product_id
  LEFT JOIN LATERAL (
      SELECT id, line1, postal_code, country FROM marketplace_address
       WHERE owner_id = %(customer_id)s
         AND CASE WHEN %(address_id)s::bigint IS NULL THEN is_default
                  ELSE id = %(address_id)s::bigint END
       ORDER BY id LIMIT 1
  ) AS a ON true
 WHERE d.id = %(drop_id)s
"""
)


@dataclass(frozen=True)
class IntakeFacts:
    """What :func:`_intake_facts` reads, read ahead with the token login, and for which inputs."""

    inputs: tuple[int, int, int | None, str, str, datetime]
    drop: Drop | None

    @property
    def now(self) -> datetime:
        return self.inputs[-1]


# The token login (the same check as the API's token authentication: the key, an active user
# decided by the caller) with the facts of the request the account is making, so that the hot
# path of intake pays one read statement, not two. Column names come from the models; the key
# and every value are bound parameters.
_TOKEN_AND_FACTS = (
    "WITH me AS (SELECT "  # noqa: S608
    + user_columns("u")
    + " FROM authtoken_token t JOIN marketplace_user u ON u.id = t.user_id WHERE t.key = %(key)s)"
    " SELECT me.*, facts.* FROM me LEFT JOIN LATERAL ("
    + _FACTS.replace("%(customer_id)s", "me.id")
    + ") AS facts ON true"
)

# Planned once per connection: the statement joins six tables with three counting subqueries, and
# planning it took longer than running it.
_TOKEN_AND_FACTS_STATEMENT = PreparedStatement(
    _TOKEN_AND_FACTS,
    {
        "key": "text",
        "drop_id": "bigint",
        "address_id": "bigint",
        "delivered": "text",
        "network": "text",
        "network_since": "timestamptz",
        "network_limit": "bigint",
        "device_id": "text",
        "device_since": "timestamptz",
        "device_limit": "bigint",
    },
)


def token_login_with_facts(
    key: str, *, drop_id: int, ip_address: str | None, device_id: str, now: datetime
) -> tuple[User, IntakeFacts] | None:
    """The account of an API token and the facts of its request to ``drop_id`` with the default
    address, in one statement; None for an unknown key. Whether the account may sign in (active)
    is the caller's decision."""
    network = screening.network_of(screening.valid_ip(ip_address))
    device_id = device_id.strip()[:100]
    row = _TOKEN_AND_FACTS_STATEMENT.read(
        {"key": key, **_facts_params(drop_id, None, network, device_id, now)}
    )
    if row is None:
        return None
    user = user_from_row(row)
    facts = row[USER_WIDTH:]
    drop = _drop_with_facts(facts) if facts[0] is not None else None
    return user, IntakeFacts((drop_id, user.pk, None, network, device_id, now), drop)


# The request and its outbox event in one statement: in autocommit it is one durable commit and
# one round trip, where a transaction block costs four. A repeat that lost the race on the unique
# key writes nothing. Nobody handles "invitation.requested" yet, so no relay is woken for it (the
# beat runs the relay every few seconds).
_INSERT = """
    WITH request AS (
        INSERT INTO invitations_invitationrequest
            (drop_id, customer_id, address_id, address_key, ip_address, network, device_id,
             user_agent, state, verdict, screened_category, is_automated_verdict, is_fresh,
             has_batch_rules, appeal_text, appeal_status, created_at)
        VALUES (%(drop_id)s, %(customer_id)s, %(address_id)s, %(address_key)s, %(ip_address)s,
                %(network)s, %(device_id)s, %(user_agent)s, %(state)s, %(verdict)s,
                %(screened_category)s, true, %(is_fresh)s, false, '', '', %(created_at)s)
        ON CONFLICT (drop_id, customer_id) DO NOTHING
        RETURNING id
    ),
    event AS (
        INSERT INTO core_outboxevent (id, topic, payload, created_at, attempts, last_error)
        SELECT gen_random_uuid(), 'invitation.requested',
               jsonb_build_object('request_id', id, 'drop_id', %(drop_id)s), now(), 0, ''
          FROM request
    )
    SELECT id FROM request
"""

_INSERT_STATEMENT = PreparedStatement(
    _INSERT,
    {
        "drop_id": "bigint",
        "customer_id": "bigint",
        "address_id": "bigint",
        "address_key": "text",
        "ip_address": "inet",
        "network": "text",
        "device_id": "text",
        "user_agent": "text",
        "state": "text",
        "verdict": "jsonb",
        "screened_category": "text",
        "is_fresh": "boolean",
        "created_at": "timestamptz",
    },
)


def _request_insert(request: InvitationRequest) -> bool:
    """Write the request, committed when this returns (one statement in autocommit; ATOMIC_REQUESTS
    is off). False when the account's request for the drop exists already."""
    row = _INSERT_STATEMENT.fetchone(
        {
            "drop_id": request.drop_id,
            "customer_id": request.customer_id,
            "address_id": request.address_id,
            "address_key": request.address_key,
            "ip_address": request.ip_address,
            "network": request.network,
            "device_id": request.device_id,
            "user_agent": request.user_agent,
            "state": request.state,
            "verdict": Jsonb(request.verdict),
            "screened_category": request.screened_category,
            "is_fresh": request.is_fresh,
            "created_at": request.created_at,
        }
    )
    if row is None:
        return False
    request.pk = row[0]
    return True


def screening_batch(
    drop: Drop, *, dry_run: bool = False, now: datetime | None = None
) -> dict[str, Any]:
    """Cluster rules over every request of the drop, before the draw.

    Requests a person decided (``is_automated_verdict`` False) keep their decision. With
    ``dry_run`` nothing is written; the answer says how many requests each rule would remove,
    with sample ids, so staff can check the rules before they act.
    """
    total, rows = _cluster_rows(drop)
    verdicts = _verdicts(sorted(row["id"] for row in rows))
    removed_by_rule: dict[str, list[int]] = defaultdict(list)
    changed: list[InvitationRequest] = []
    screened_out = newly_screened_out = readmitted = 0
    for row in rows:
        if row["state"] not in JUDGED_STATES or row["drawn"]:
            continue  # drawn already: a batch does not reopen a draw
        stored = verdicts[row["id"]].get("fired", [])
        if not row["is_automated_verdict"]:
            screened_out += row["state"] == RequestState.SCREENED_OUT
            continue  # staff decided this one; the rules do not overrule a person
        request_time = [rule for rule in stored if rule.get("stage", "request") == "request"]
        verdict = screening.merge(request_time, row["batch"])
        new_state = RequestState.SCREENED_OUT if verdict.is_screened_out else RequestState.RECEIVED
        if verdict.is_screened_out:
            screened_out += 1
            for rule in verdict.fired:
                if int(rule["weight"]) > 0:
                    removed_by_rule[rule["code"]].append(row["id"])
        if new_state != row["state"]:
            newly_screened_out += new_state == RequestState.SCREENED_OUT
            readmitted += new_state == RequestState.RECEIVED
        if new_state != row["state"] or verdict.fired != stored:
            changed.append(
                InvitationRequest(
                    pk=row["id"],
                    state=new_state,
                    verdict=verdict.as_json(),
                    screened_category=verdict.category if verdict.is_screened_out else "",
                    has_batch_rules=any(rule.get("stage") == "batch" for rule in verdict.fired),
                )
            )
    if not dry_run and changed:
        # Only the requests whose verdict moved are written, in bulk: most of a big drop is clean.
        with transaction.atomic():
            InvitationRequest.objects.bulk_update(
                changed,
                ["state", "verdict", "screened_category", "has_batch_rules"],
                batch_size=VERDICT_WRITE_BATCH_SIZE,
            )
    return {
        "requests": total,
        "screened_out": screened_out,
        "newly_screened_out": newly_screened_out,
        "readmitted": readmitted,
        "by_rule": {
            code: {"count": len(ids), "samples": ids[:DRY_RUN_SAMPLES]}
            for code, ids in sorted(removed_by_rule.items())
        },
        "dry_run": dry_run,
    }


# The clusters of a drop counted by the database in two passes over its requests, neither of which
# joins a million rows to anything. First the keys (delivery address, device, the network of a
# fresh account) that occur often enough to make a cluster, found by sorting 64-bit hashes of them
# (each kind with its own seed): a million distinct keys sort several times faster than they fill a
# hash table (grouping_by_sort). With them, the requests in a sign-up burst. Then the requests that
# may move: in such a cluster or burst, with a cluster rule from an earlier screening, or screened
# out already; the first pass's findings come in as constants so that this scan, too, may run in
# parallel workers. The clusters are recounted on the real keys of those requests, so a hash
# collision only adds a candidate: every request of a real cluster is among them, and a key that
# is no candidate is too rare to fire. Only they come back, each row with the count of all
# requests of the drop (a single row with no request when nothing may move): most of a big drop is
# clean and never leaves PostgreSQL.
_CLUSTER_KEYS = """
    WITH shared AS (
        SELECT key_hash FROM (
            SELECT unnest(ARRAY[
                       CASE WHEN address_key <> '' THEN hashtextextended(address_key, 1) END,
                       CASE WHEN device_id <> '' THEN hashtextextended(device_id, 2) END,
                       CASE WHEN network <> '' AND is_fresh
                            THEN hashtextextended(network, 3) END
                   ]) AS key_hash
              FROM invitations_invitationrequest
             WHERE drop_id = %(drop_id)s
        ) AS keys
         WHERE key_hash IS NOT NULL
         GROUP BY key_hash
        HAVING count(*) >= least(%(address_threshold)s, %(device_threshold)s,
                                 %(network_threshold)s)
    ),
    burst AS (
        SELECT id, neighbours FROM (
            SELECT id, count(*) OVER (
                       ORDER BY date_joined
                       RANGE BETWEEN %(half_window)s PRECEDING AND %(half_window)s FOLLOWING
                   ) AS neighbours
              FROM (SELECT r.id, u.date_joined FROM invitations_invitationrequest r
                      JOIN marketplace_user u ON u.id = r.customer_id
                     WHERE r.drop_id = %(drop_id)s
                       AND u.date_joined BETWEEN %(burst_from)s AND %(burst_to)s) AS joined
        ) AS counted
         WHERE neighbours >= %(burst_threshold)s
    )
    SELECT (SELECT coalesce(array_agg(key_hash), '{}') FROM shared),
           (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM burst),
           (SELECT coalesce(array_agg(neighbours ORDER BY id), '{}') FROM burst)
"""

_CLUSTERS = """
    WITH burst AS (
        SELECT * FROM unnest(%(burst_ids)s::bigint[], %(burst_neighbours)s::bigint[])
                   AS b(id, neighbours)
    ),
    req AS MATERIALIZED (
        SELECT id, address_key, network, device_id, state, is_automated_verdict,
               is_fresh AS fresh, has_batch_rules AS had_batch
          FROM invitations_invitationrequest
         WHERE drop_id = %(drop_id)s
           AND (state = 'screened_out' OR has_batch_rules
                OR hashtextextended(address_key, 1) = ANY(%(shared)s::bigint[])
                OR hashtextextended(device_id, 2) = ANY(%(shared)s::bigint[])
                OR hashtextextended(network, 3) = ANY(%(shared)s::bigint[])
                OR id = ANY(%(burst_ids)s::bigint[]))
    ),
    by_address AS (
        SELECT address_key, count(*) AS accounts FROM req WHERE address_key <> ''
         GROUP BY address_key HAVING count(*) >= %(address_threshold)s
    ),
    by_network AS (
        SELECT network, count(*) AS requests, count(*) FILTER (WHERE fresh) AS fresh
          FROM req WHERE network <> '' GROUP BY network
        HAVING count(*) FILTER (WHERE fresh) >= %(network_threshold)s
           AND count(*) FILTER (WHERE fresh) >= %(fresh_share)s * count(*)
    ),
    by_device AS (
        SELECT device_id, count(*) AS accounts FROM req WHERE device_id <> ''
         GROUP BY device_id HAVING count(*) >= %(device_threshold)s
    ),
    moving AS (
        SELECT req.id, req.state,
               EXISTS (SELECT 1 FROM invitations_invitation i WHERE i.request_id = req.id),
               req.is_automated_verdict, req.fresh, coalesce(a.accounts, 0) AS address,
               coalesce(n.requests, 0) AS network,
               coalesce(n.fresh, 0) AS network_fresh, coalesce(d.accounts, 0) AS device,
               coalesce(b.neighbours, 0) AS neighbours
          FROM req
          LEFT JOIN by_address a ON a.address_key = req.address_key
          LEFT JOIN by_network n ON n.network = req.network AND req.fresh
          LEFT JOIN by_device d ON d.device_id = req.device_id
          LEFT JOIN burst b ON b.id = req.id
         WHERE a.accounts IS NOT NULL OR n.network IS NOT NULL OR d.accounts IS NOT NULL
            OR b.id IS NOT NULL OR req.had_batch OR req.state = 'screened_out'
    )
    SELECT total.requests, moving.*
      FROM (SELECT count(*) AS requests FROM invitations_invitationrequest
             WHERE drop_id = %(drop_id)s) AS total
      LEFT JOIN moving ON true
"""


def _cluster_rows(drop: Drop) -> tuple[int, list[dict[str, Any]]]:
    """How many requests the drop has, and those the batch screening may change, each with the
    batch rules that fire now."""
    burst = RULES["signup_burst"]
    half_window = (burst.window or timedelta(0)) / 2
    params = {
        "drop_id": drop.pk,
        "address_threshold": RULES["shared_address"].threshold,
        "network_threshold": RULES["fresh_network_cluster"].threshold,
        "fresh_share": FRESH_NETWORK_SHARE,
        "device_threshold": RULES["device_reuse"].threshold,
        "half_window": half_window,
        "burst_from": drop.request_opens_at - SIGNUP_BURST_LOOKBACK,
        "burst_to": drop.request_opens_at,
        "burst_threshold": burst.threshold,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        roomy_sorts(cursor)
        grouping_by_sort(cursor)
        cursor.execute(_CLUSTER_KEYS, params)
        shared, burst_ids, burst_neighbours = cursor.fetchone()
        cursor.execute(
            _CLUSTERS,
            {
                **params,
                "shared": shared,
                "burst_ids": burst_ids,
                "burst_neighbours": burst_neighbours,
            },
        )
        fetched = cursor.fetchall()
    rows = [
        {
            "id": pk,
            "state": state,
            "drawn": drawn,
            "is_automated_verdict": automated,
            "batch": screening.cluster_rules(
                address_accounts=address,
                network_requests=network,
                network_fresh=network_fresh,
                fresh=fresh,
                device_accounts=device,
                burst_neighbours=neighbours,
            ),
        }
        for (
            _total,
            pk,
            state,
            drawn,
            automated,
            fresh,
            address,
            network,
            network_fresh,
            device,
            neighbours,
        ) in fetched
        if pk is not None
    ]
    return fetched[0][0], rows


def _verdicts(ids: list[int]) -> dict[int, dict[str, Any]]:
    verdicts: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), VERDICT_BATCH_SIZE):
        chunk = ids[start : start + VERDICT_BATCH_SIZE]
        for pk, verdict in InvitationRequest.objects.filter(pk__in=chunk).values_list(
            "pk", "verdict"
        ):
            verdicts[pk] = verdict or {}
    return verdicts


def request_appeal(
    customer: User, *, request_id: int, text: str, now: datetime | None = None
) -> InvitationRequest:
    """A screened-out customer explains themselves; staff decide in admin (appeal_decide)."""
    now = now or clock.now()
    text = text.strip()
    if not text:
        raise errors.AppealTextRequired(
            fields={"text": [str(errors.AppealTextRequired.default_detail)]}
        )
    with transaction.atomic():
        request = (
            InvitationRequest.objects.select_for_update()
            .filter(pk=request_id, customer=customer)
            .first()
        )
        if request is None:
            raise errors.RequestNotFound()
        if request.appeal_status in {AppealStatus.ADMITTED, AppealStatus.REJECTED}:
            raise errors.AppealAlreadyDecided()
        if request.state != RequestState.SCREENED_OUT:
            raise errors.NotScreenedOut()
        request.appeal_text = text[:2000]
        request.appeal_status = AppealStatus.PENDING
        request.appealed_at = now
        request.save(update_fields=["appeal_text", "appeal_status", "appealed_at"])
        outbox.emit("invitation.appealed", {"request_id": request.pk, "drop_id": request.drop_id})
    return request


def verdict_override(
    request_id: int,
    *,
    screened_out: bool,
    actor: User,
    reason: str,
    now: datetime | None = None,
) -> InvitationRequest:
    """Staff decide a request (a false positive, a bot the rules missed); the rules will not
    change it back. A request already drawn stays as it is."""
    now = now or clock.now()
    with transaction.atomic():
        request = InvitationRequest.objects.select_for_update().get(pk=request_id)
        if request.state not in JUDGED_STATES and not (
            request.state == RequestState.NOT_DRAWN and screened_out
        ):
            return request
        if Invitation.objects.filter(request=request).exists():
            return request  # a winner whose state the draw's follow-up has not written yet
        _override(request, screened_out=screened_out, actor=actor, reason=reason, now=now)
        request.save(
            update_fields=["state", "is_automated_verdict", "verdict", "screened_category"]
        )
        outbox.emit(
            "invitation.verdict_overridden",
            {"request_id": request.pk, "screened_out": screened_out, "actor_id": actor.pk},
        )
    return request


def _override(
    request: InvitationRequest, *, screened_out: bool, actor: User, reason: str, now: datetime
) -> None:
    if screened_out:
        request.state = RequestState.SCREENED_OUT
    elif (
        request.state == RequestState.SCREENED_OUT
        and Draw.objects.filter(drop_id=request.drop_id).exists()
    ):
        # Admitted after a round: it waits for a further one untold, since in a drawn drop
        # "received" means drawn-against and not yet told (see draws.notify_not_drawn).
        request.state = RequestState.NOT_DRAWN
    else:
        request.state = RequestState.RECEIVED
    request.is_automated_verdict = False
    request.verdict = {
        **request.verdict,
        "automated": False,
        "override": {
            "by": actor.pk,
            "screened_out": screened_out,
            "reason": reason[:300],
            "at": now.isoformat(),
        },
    }
    request.screened_category = (request.screened_category or "device") if screened_out else ""


def appeal_decide(
    request_id: int,
    *,
    admit: bool,
    actor: User,
    reason: str = "",
    now: datetime | None = None,
) -> InvitationRequest:
    """Staff decide an appeal: admitted requests take part in the next draw; the customer is
    told either way, once."""
    now = now or clock.now()
    with transaction.atomic():
        request = (
            InvitationRequest.objects.select_for_update(of=("self",))
            .select_related("customer", "drop__offer__product")
            .get(pk=request_id)
        )
        if request.appeal_status != AppealStatus.PENDING:
            return request  # decided already, or never appealed: a second click does nothing
        if request.state == RequestState.SCREENED_OUT:
            _override(request, screened_out=not admit, actor=actor, reason=reason, now=now)
        request.appeal_status = AppealStatus.ADMITTED if admit else AppealStatus.REJECTED
        request.save(
            update_fields=[
                "state",
                "is_automated_verdict",
                "verdict",
                "screened_category",
                "appeal_status",
            ]
        )
        email_queue(
            to=request.customer.email,
            template="invitation_appeal_decided",
            language=request.customer.language,
            context={"admitted": admit, "product": request.drop.offer.product},
        )
        outbox.emit(
            "invitation.appeal_decided",
            {"request_id": request.pk, "admitted": admit, "actor_id": actor.pk},
        )
    return request
