"""Every write of account health. The score changes in O(1) per event: a running base and penalty,
each change written to the ledger with its cause."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Min

from account_health import errors
from account_health.choices import (
    AppealStatus,
    Band,
    DeactivationStatus,
    Resolution,
    Source,
    ViolationStatus,
)
from account_health.constants import (
    APPEAL_WINDOW,
    AT_RISK_FROM,
    CLEAN_ORDERS_PER_REWARD,
    CLEAN_REWARD_POINTS,
    GRACE_HISTORY,
    GRACE_MIN_SCORE,
    GRACE_WINDOW,
    HEALTHY_FROM,
    IMPACT_CAP,
    IMPACT_STEP,
    MAX_SCORE,
    METRIC_POLICIES,
    REPEAT_LOOKBACK,
    REPEAT_MULTIPLIER,
    SEVERITY_POINTS,
    START_SCORE,
)
from account_health.models import Appeal, Deactivation, HealthScore, LedgerEntry, Policy, Violation
from core import clock, outbox
from core.email import email_queue
from marketplace.choices import SellerStatus
from marketplace.models import Seller, User
from marketplace.services import seller_set_status


def displayed(score: HealthScore) -> int:
    return max(0, min(MAX_SCORE, score.base - score.penalty))


def band_of(value: int) -> str:
    if value >= HEALTHY_FROM:
        return Band.HEALTHY
    if value >= AT_RISK_FROM:
        return Band.AT_RISK
    return Band.CRITICAL


def violation_points(severity: str, affected_orders: int, is_repeat: bool) -> int:
    impact = min(1 + IMPACT_STEP * max(0, affected_orders - 1), IMPACT_CAP)
    return round(SEVERITY_POINTS[severity] * impact * (REPEAT_MULTIPLIER if is_repeat else 1.0))


def _score_row(seller_id: int, now: datetime) -> HealthScore:
    score, _created = HealthScore.objects.select_for_update().get_or_create(
        seller_id=seller_id, defaults={"base": START_SCORE, "penalty": 0, "updated_at": now}
    )
    return score


# --- Violations -------------------------------------------------------------------------------


def violation_open(
    seller: Seller,
    *,
    policy_code: str,
    facts: str,
    affected_orders: int = 1,
    severity: str | None = None,
    source: str = Source.STAFF,
    now: datetime | None = None,
) -> Violation:
    now = now or clock.now()
    policy = Policy.objects.get(code=policy_code)
    severity = severity or policy.default_severity
    with transaction.atomic():
        is_repeat = Violation.objects.filter(
            seller=seller, policy=policy, opened_at__gte=now - REPEAT_LOOKBACK
        ).exists()
        violation = Violation.objects.create(
            seller=seller,
            policy=policy,
            severity=severity,
            affected_orders=max(1, affected_orders),
            is_repeat=is_repeat,
            points=violation_points(severity, affected_orders, is_repeat),
            source=source,
            facts=facts,
            opened_at=now,
        )
        outbox.emit(
            "violation.opened",
            {"violation_id": violation.pk, "seller_id": seller.pk, "points": violation.points},
        )
    return violation


def violation_resolve(
    violation_id: int, *, actor: User | None, now: datetime | None = None
) -> Violation:
    now = now or clock.now()
    with transaction.atomic():
        violation = Violation.objects.select_for_update().get(pk=violation_id)
        if violation.status == ViolationStatus.RESOLVED:
            return violation
        violation.status = ViolationStatus.RESOLVED
        violation.resolved_at = now
        violation.save(update_fields=["status", "resolved_at", "updated_at"])
        outbox.emit(
            "violation.resolved",
            {
                "violation_id": violation.pk,
                "seller_id": violation.seller_id,
                "points": violation.points,
                "actor_id": actor.pk if actor else None,
            },
        )
    return violation


def violation_mark_fixed(
    seller: Seller, *, violation_id: int, statement: str, now: datetime | None = None
) -> Violation:
    """The seller says it is fixed: some policies resolve at once, others wait for staff review."""
    if not statement.strip():
        raise errors.StatementRequired(fields={"statement": ["Tell us what you changed."]})
    with transaction.atomic():
        violation = (
            Violation.objects.select_for_update(of=("self",))
            .select_related("policy")
            .filter(seller=seller, pk=violation_id)
            .first()
        )
        if violation is None:
            raise errors.ViolationNotFound()
        if violation.status != ViolationStatus.OPEN:
            raise errors.ViolationNotOpen()
        violation.seller_statement = statement.strip()[:4000]
        if violation.policy.resolution == Resolution.IMMEDIATE:
            violation.save(update_fields=["seller_statement", "updated_at"])
            return violation_resolve(violation.pk, actor=seller.owner, now=now)
        violation.status = ViolationStatus.PENDING_REVIEW
        violation.save(update_fields=["seller_statement", "status", "updated_at"])
    return violation


def _lock_scores(seller_ids: Sequence[int], now: datetime) -> dict[int, HealthScore]:
    """The score rows of ``seller_ids``, created where missing, locked in one order (no deadlock
    between two relays whose batches share sellers)."""
    HealthScore.objects.bulk_create(
        [
            HealthScore(seller_id=seller_id, base=START_SCORE, penalty=0, updated_at=now)
            for seller_id in sorted(set(seller_ids))
        ],
        ignore_conflicts=True,
    )
    return {
        score.seller_id: score
        for score in HealthScore.objects.select_for_update()
        .filter(seller_id__in=set(seller_ids))
        .order_by("seller_id")
    }


def _save_scores(scores: Sequence[HealthScore], now: datetime) -> None:
    for score in scores:
        score.updated_at = now
    HealthScore.objects.bulk_update(scores, ["base", "penalty", "clean_orders", "updated_at"])


def apply_violation_event(violation_id: int, *, cause: str, now: datetime | None = None) -> None:
    """Take or give back one violation's points, once."""
    apply_violation_events([(violation_id, cause)], now=now)


def apply_violation_events(
    changes: Sequence[tuple[int, str]], *, now: datetime | None = None
) -> int:
    """Outbox handler body: take (``violation_opened``) or give back (``violation_resolved``) the
    points of many violations in a few statements, each once; returns how many were applied.

    The score rows are locked before the ledger is read, so a change already in the ledger is
    skipped and two relays never apply the same one."""
    now = now or clock.now()
    violations = {
        violation.pk: violation
        for violation in Violation.objects.select_related("policy").filter(
            pk__in={violation_id for violation_id, _cause in changes}
        )
    }
    wanted = [(vid, cause) for vid, cause in changes if vid in violations]
    if not wanted:
        return 0
    with transaction.atomic():
        scores = _lock_scores([violations[vid].seller_id for vid, _cause in wanted], now)
        done = set(
            LedgerEntry.objects.filter(violation_id__in={vid for vid, _cause in wanted})
            .filter(cause__in={cause for _vid, cause in wanted})
            .values_list("violation_id", "cause")
        )
        entries = []
        for vid, cause in wanted:
            if (vid, cause) in done:
                continue
            done.add((vid, cause))
            violation = violations[vid]
            delta = -violation.points if cause == "violation_opened" else violation.points
            score = scores[violation.seller_id]
            score.penalty -= delta
            entries.append(
                LedgerEntry(
                    seller_id=violation.seller_id,
                    violation=violation,
                    cause=cause,
                    rule=f"{violation.policy.code}: {violation.severity}, "
                    f"{violation.affected_orders} order(s)"
                    + (", repeat" if violation.is_repeat else ""),
                    delta=delta,
                    score_after=displayed(score),
                    created_at=now,
                )
            )
        if entries:
            LedgerEntry.objects.bulk_create(entries)
            _save_scores(list(scores.values()), now)
    return len(entries)


def clean_order_delivered(seller_id: int, *, now: datetime | None = None) -> None:
    """Every 200 orders delivered without a defect earn a few points, up to the maximum."""
    clean_orders_delivered([seller_id], now=now)


def clean_orders_delivered(seller_ids: Sequence[int], *, now: datetime | None = None) -> None:
    """Count delivered orders (one seller id per order); each full ``CLEAN_ORDERS_PER_REWARD``
    earns ``CLEAN_REWARD_POINTS``, up to the maximum, written to the ledger."""
    now = now or clock.now()
    with transaction.atomic():
        scores = _lock_scores(seller_ids, now)
        rewards = []
        for seller_id in seller_ids:
            score = scores[seller_id]
            score.clean_orders += 1
            if score.clean_orders % CLEAN_ORDERS_PER_REWARD == 0 and score.base < MAX_SCORE:
                reward = min(CLEAN_REWARD_POINTS, MAX_SCORE - score.base)
                score.base += reward
                rewards.append(
                    LedgerEntry(
                        seller_id=seller_id,
                        cause="clean_selling",
                        rule=f"{CLEAN_ORDERS_PER_REWARD} orders delivered without a defect",
                        delta=reward,
                        score_after=displayed(score),
                        created_at=now,
                    )
                )
        _save_scores(list(scores.values()), now)
        LedgerEntry.objects.bulk_create(rewards)


def metric_violations_sync(seller_id: int, metrics: Any, *, now: datetime | None = None) -> None:
    """Open a violation for each rate metric that misses its target; resolve it when it is back."""
    metric_violations_sync_many({seller_id: metrics}, now=now)


def metric_violations_sync_many(
    metrics_by_seller: Mapping[int, Any], *, now: datetime | None = None
) -> None:
    """:func:`metric_violations_sync` for many sellers in a few statements: a stream of metric
    changes (a claim filed against a seller with few orders moves the defect rate past its target)
    opened the violations one by one at several statements each, which held up the relay."""
    now = now or clock.now()
    open_violations = {
        (seller_id, policy_code): violation_id
        for violation_id, seller_id, policy_code in Violation.objects.filter(
            seller_id__in=list(metrics_by_seller),
            policy__code__in=list(METRIC_POLICIES.values()),
            source=Source.AUTOMATIC,
        )
        .exclude(status=ViolationStatus.RESOLVED)
        .values_list("pk", "seller_id", "policy__code")
    }  # at most one each: the one_open_automatic_violation constraint
    to_open: list[tuple[int, str, int, str]] = []
    for seller_id, metrics in metrics_by_seller.items():
        for metric, policy_code in METRIC_POLICIES.items():
            meets = metrics.meets_target(metric)
            open_violation = open_violations.get((seller_id, policy_code))
            if meets is False and open_violation is None:
                detail = getattr(metrics, metric.replace("_rate", ""))
                facts = (
                    f"{metric} was {getattr(metrics, metric)} ({detail.numerator} of"
                    f" {detail.denominator} orders in {detail.window_days} days)."
                )
                to_open.append((seller_id, policy_code, detail.numerator or 1, facts))
            elif meets is not False and open_violation is not None:
                violation_resolve(open_violation, actor=None, now=now)
    if to_open:
        _automatic_violations_open(to_open, now=now)


def _automatic_violations_open(rows: list[tuple[int, str, int, str]], *, now: datetime) -> None:
    """Open automatic violations (seller, policy, affected orders, facts) as
    :func:`violation_open` would, with their events, in one insert each."""
    policies = {
        policy.code: policy for policy in Policy.objects.filter(code__in={r[1] for r in rows})
    }
    repeats = set(
        Violation.objects.filter(
            seller_id__in={row[0] for row in rows},
            policy__in=list(policies.values()),
            opened_at__gte=now - REPEAT_LOOKBACK,
        ).values_list("seller_id", "policy_id")
    )
    violations = []
    for seller_id, policy_code, affected_orders, facts in rows:
        policy = policies[policy_code]
        is_repeat = (seller_id, policy.pk) in repeats
        violations.append(
            Violation(
                seller_id=seller_id,
                policy=policy,
                severity=policy.default_severity,
                affected_orders=max(1, affected_orders),
                is_repeat=is_repeat,
                points=violation_points(policy.default_severity, affected_orders, is_repeat),
                source=Source.AUTOMATIC,
                facts=facts,
                opened_at=now,
            )
        )
    try:
        with transaction.atomic():
            Violation.objects.bulk_create(violations)
            outbox.emit_many(
                "violation.opened",
                [
                    {"violation_id": v.pk, "seller_id": v.seller_id, "points": v.points}
                    for v in violations
                ],
            )
    except IntegrityError:
        # A concurrent sync opened one of them first: open the rest one by one.
        for seller_id, policy_code, affected_orders, facts in rows:
            try:
                violation_open(
                    Seller.objects.get(pk=seller_id),
                    policy_code=policy_code,
                    source=Source.AUTOMATIC,
                    now=now,
                    affected_orders=affected_orders,
                    facts=facts,
                )
            except IntegrityError:
                continue  # opened by a concurrent sync


# --- Deactivation and appeal ------------------------------------------------------------------


def _healthy_for_grace(seller_id: int, now: datetime) -> bool:
    """Healthy with a margin (>= 250) throughout the 180 days before the current trouble began,
    i.e. before the oldest violation still open."""
    first_open = (
        Violation.objects.filter(seller_id=seller_id)
        .exclude(status=ViolationStatus.RESOLVED)
        .aggregate(first=Min("opened_at"))["first"]
        or now
    )
    window_start = first_open - GRACE_HISTORY
    seller = Seller.objects.get(pk=seller_id)
    if seller.created_at > window_start:
        return False
    before = LedgerEntry.objects.filter(seller_id=seller_id, created_at__lt=first_open)
    if before.filter(created_at__gte=window_start, score_after__lt=GRACE_MIN_SCORE).exists():
        return False
    last = before.order_by("-created_at", "-pk").first()
    return (last.score_after if last else START_SCORE) >= GRACE_MIN_SCORE


def deactivation_request(
    seller: Seller,
    *,
    statement: str,
    facts: str,
    policy_codes: Sequence[str],
    is_automated: bool,
    actor: User | None,
    now: datetime | None = None,
) -> Deactivation:
    now = now or clock.now()
    if not statement.strip() or not facts.strip():
        raise errors.StatementRequired()
    with transaction.atomic():
        score = _score_row(seller.pk, now)
        if band_of(displayed(score)) != Band.CRITICAL:
            raise errors.NotCritical()
        grace = _healthy_for_grace(seller.pk, now)
        deactivation = Deactivation.objects.create(
            seller=seller,
            statement=statement.strip(),
            facts=facts.strip(),
            is_automated=is_automated,
            actor=actor,
            requested_at=now,
            effective_at=now + GRACE_WINDOW if grace else now,
        )
        deactivation.policies.set(Policy.objects.filter(code__in=list(policy_codes)))
        email_queue(
            to=seller.owner.email,
            template="deactivation",
            language=seller.owner.language,
            context={"deactivation": deactivation, "seller": seller, "grace": grace},
        )
        outbox.emit(
            "seller.deactivation_requested",
            {"deactivation_id": deactivation.pk, "seller_id": seller.pk},
        )
    if not grace:
        deactivations_apply_due(now=now)
        deactivation.refresh_from_db()
    return deactivation


def deactivations_apply_due(*, now: datetime | None = None) -> int:
    now = now or clock.now()
    applied = 0
    for deactivation in Deactivation.objects.filter(
        status=DeactivationStatus.PENDING, effective_at__lte=now
    ):
        with transaction.atomic():
            updated = Deactivation.objects.filter(
                pk=deactivation.pk, status=DeactivationStatus.PENDING
            ).update(status=DeactivationStatus.EFFECTIVE)
            if updated:
                seller_set_status(
                    deactivation.seller_id,
                    status=SellerStatus.DEACTIVATED,
                    reason=deactivation.statement,
                    actor=deactivation.actor,
                    now=now,
                )
                applied += 1
    return applied


def deactivation_withdraw(
    deactivation_id: int, *, actor: User, now: datetime | None = None
) -> Deactivation:
    with transaction.atomic():
        deactivation = Deactivation.objects.select_for_update().get(pk=deactivation_id)
        if deactivation.status == DeactivationStatus.PENDING:
            deactivation.status = DeactivationStatus.WITHDRAWN
            deactivation.save(update_fields=["status", "updated_at"])
    return deactivation


def appeal_submit(
    seller: Seller,
    *,
    root_cause: str,
    corrective_actions: str,
    preventive_measures: str,
    now: datetime | None = None,
) -> Appeal:
    now = now or clock.now()
    missing = {
        name: ["This field is required."]
        for name, value in (
            ("root_cause", root_cause),
            ("corrective_actions", corrective_actions),
            ("preventive_measures", preventive_measures),
        )
        if not value.strip()
    }
    if missing:
        raise errors.StatementRequired(fields=missing)
    deactivation = (
        Deactivation.objects.filter(
            seller=seller, status__in=[DeactivationStatus.EFFECTIVE, DeactivationStatus.PENDING]
        )
        .order_by("-requested_at")
        .first()
    )
    if deactivation is None:
        raise errors.DeactivationNotFound()
    if now > deactivation.requested_at + APPEAL_WINDOW:
        raise errors.AppealWindowClosed()
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(
                deactivation=deactivation,
                seller=seller,
                root_cause=root_cause.strip(),
                corrective_actions=corrective_actions.strip(),
                preventive_measures=preventive_measures.strip(),
                submitted_at=now,
            )
            outbox.emit("appeal.submitted", {"appeal_id": appeal.pk, "seller_id": seller.pk})
    except IntegrityError as error:
        raise errors.AppealExists() from error
    return appeal


def appeal_decide(
    appeal_id: int, *, approve: bool, reason: str, actor: User, now: datetime | None = None
) -> Appeal:
    """A person decides. Approval resolves the violations concerned and reinstates the seller."""
    now = now or clock.now()
    if not reason.strip():
        raise errors.StatementRequired(fields={"reason": ["Give the reasons for the decision."]})
    with transaction.atomic():
        appeal = Appeal.objects.select_for_update().select_related("deactivation").get(pk=appeal_id)
        if appeal.status != AppealStatus.SUBMITTED:
            return appeal
        appeal.status = AppealStatus.APPROVED if approve else AppealStatus.DENIED
        appeal.decided_by = actor
        appeal.decision_reason = reason.strip()
        appeal.decided_at = now
        appeal.save()
        if approve:
            deactivation = appeal.deactivation
            concerned = Violation.objects.filter(
                seller_id=appeal.seller_id, policy__in=deactivation.policies.all()
            ).exclude(status=ViolationStatus.RESOLVED)
            for violation in concerned:
                violation_resolve(violation.pk, actor=actor, now=now)
            Deactivation.objects.filter(pk=deactivation.pk).update(
                status=DeactivationStatus.REINSTATED
            )
            seller_set_status(
                appeal.seller_id,
                status=SellerStatus.ACTIVE,
                reason=f"appeal approved: {reason}",
                actor=actor,
                now=now,
            )
        seller = Seller.objects.select_related("owner").get(pk=appeal.seller_id)
        email_queue(
            to=seller.owner.email,
            template="appeal_decided",
            language=seller.owner.language,
            context={"appeal": appeal, "seller": seller},
        )
    return appeal
