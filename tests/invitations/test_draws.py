"""The lottery: held units, winners, e-mails once, replay from the seed, further rounds."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from core import outbox
from core.models import OutgoingEmail
from invitations import errors, lottery, services
from invitations.models import Draw, Drop, Invitation, InvitationRequest
from invitations.selectors import shown_state
from invitations.services import draws as draw_module
from invitations.tasks import draws_due_task, invitations_expire_task
from marketplace.models import Offer
from tests.invitations.factories import close, customer, make_drop, request


def requests_for(drop, count, *, now=None):
    """Established customers, each from their own network."""
    return [
        request(drop, customer(), ip=f"198.{index // 250}.{index % 250}.9", now=now)[0]
        for index in range(count)
    ]


def eligible_ids(drop):
    return list(
        InvitationRequest.objects.filter(drop=drop, state="received")
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def independent_replay(seed: str, round_number: int, ids: list[int], winners: int) -> list[int]:
    """The published rule, written out again: smallest HMAC-SHA256(round seed, id) win."""
    round_key = hmac.new(bytes.fromhex(seed), f"round-{round_number}".encode(), "sha256").digest()
    ranked = sorted(ids, key=lambda i: hmac.new(round_key, str(i).encode(), "sha256").digest())
    return sorted(ranked[:winners])


@pytest.mark.django_db
def test_a_drop_cannot_be_drawn_before_its_window_closes():
    drop = make_drop()
    requests_for(drop, 2)
    with pytest.raises(errors.DrawNotPossible):
        services.draw_run(drop.pk)
    assert Draw.objects.count() == 0
    assert Offer.objects.get(pk=drop.offer_id).stock == 10


@pytest.mark.django_db
def test_the_draw_holds_units_invites_winners_and_mails_everyone_once():
    drop = make_drop(units=2, stock=10)
    requests_for(drop, 5)
    close(drop)
    draw = services.draw_run(drop.pk)
    again = services.draw_run(drop.pk)
    assert again.pk == draw.pk
    assert len(draw.winner_request_ids) == 2
    assert Offer.objects.get(pk=drop.offer_id).stock == 8
    assert Drop.objects.get(pk=drop.pk).held_units == 2
    assert Drop.objects.get(pk=drop.pk).status == "drawn"
    assert sorted(Invitation.objects.values_list("request_id", flat=True)) == sorted(
        draw.winner_request_ids
    )
    # The draw wrote no request row: the winners' invitations say what they are.
    assert sorted(InvitationRequest.objects.values_list("state", flat=True)) == ["received"] * 5
    shown = [
        shown_state(r) for r in InvitationRequest.objects.select_related("drop").order_by("pk")
    ]
    assert sorted(shown) == ["invited", "invited", "not_drawn", "not_drawn", "not_drawn"]
    assert [state == "invited" for state in shown] == [
        r.pk in draw.winner_request_ids for r in InvitationRequest.objects.order_by("pk")
    ]
    services.notify_not_drawn(drop.pk, batch_size=2)
    services.notify_not_drawn(drop.pk)  # a second run tells nobody twice
    # The follow-up wrote what was shown, request by request.
    assert list(InvitationRequest.objects.order_by("pk").values_list("state", flat=True)) == shown
    outbox.relay()
    outbox.relay()
    assert OutgoingEmail.objects.filter(template="invitation_granted").count() == 2
    assert OutgoingEmail.objects.filter(template="invitation_not_drawn").count() == 3
    assert len(mail.outbox) == 5
    assert len({message.to[0] for message in mail.outbox}) == 5


@pytest.mark.django_db
def test_the_draw_replays_from_the_revealed_seed_and_verify_draw_says_so(capsys):
    drop = make_drop(units=3)
    requests_for(drop, 12)
    close(drop)
    before = eligible_ids(drop)
    draw = services.draw_run(drop.pk)
    drop.refresh_from_db()
    assert hashlib.sha256(drop.seed.encode()).hexdigest() == drop.seed_hash
    assert draw.eligible_request_ids == before
    assert draw.winner_request_ids == independent_replay(drop.seed, 1, before, 3)
    assert draw.algorithm == "hmac-sha256-rank/1"
    call_command("verify_draw", str(drop.pk), "1")
    assert "OK" in capsys.readouterr().out


@pytest.mark.django_db
def test_verify_draw_detects_tampered_winners_or_a_swapped_seed():
    drop = make_drop(units=2)
    requests_for(drop, 6)
    close(drop)
    draw = services.draw_run(drop.pk)
    losers = sorted(set(draw.eligible_request_ids) - set(draw.winner_request_ids))
    Draw.objects.filter(pk=draw.pk).update(winner_request_ids=losers[:2])
    with pytest.raises(CommandError):
        call_command("verify_draw", str(drop.pk), "1")
    Draw.objects.filter(pk=draw.pk).update(winner_request_ids=draw.winner_request_ids)
    Drop.objects.filter(pk=drop.pk).update(seed=lottery.new_seed())
    assert services.draw_verify(drop.pk, 1)[0] is False


@pytest.mark.django_db
def test_a_draw_killed_midway_and_run_again_gives_the_same_winners_and_one_mail_each(
    monkeypatch,
):
    drop = make_drop(units=3)
    requests_for(drop, 8)
    close(drop)
    expected = independent_replay(drop.seed, 1, eligible_ids(drop), 3)
    real_mails_queue = draw_module.mails_queue

    def dying_mails_queue(template, request_ids, variant_of, contexts):
        real_mails_queue(template, request_ids[:1], variant_of[:1], contexts)  # one, then killed
        raise SystemExit("worker killed")

    monkeypatch.setattr(draw_module, "mails_queue", dying_mails_queue)
    with pytest.raises(SystemExit):
        services.draw_run(drop.pk)
    assert Draw.objects.count() == 0
    assert Invitation.objects.count() == 0
    assert OutgoingEmail.objects.count() == 0
    assert Offer.objects.get(pk=drop.offer_id).stock == 10
    assert Drop.objects.get(pk=drop.pk).held_units == 0
    monkeypatch.setattr(draw_module, "mails_queue", real_mails_queue)
    draw = services.draw_run(drop.pk)
    services.draw_run(drop.pk)  # a duplicate task delivery
    outbox.relay()
    assert draw.winner_request_ids == expected
    winners = set(
        InvitationRequest.objects.filter(pk__in=expected).values_list("customer__email", flat=True)
    )
    assert sorted(
        OutgoingEmail.objects.filter(template="invitation_granted").values_list("to", flat=True)
    ) == sorted(winners)
    assert sorted(message.to[0] for message in mail.outbox) == sorted(winners)
    assert Offer.objects.get(pk=drop.offer_id).stock == 7


@pytest.mark.django_db
def test_notices_killed_after_the_draw_are_sent_by_the_next_run_once_each(monkeypatch):
    drop = make_drop(units=1)
    requests_for(drop, 6)
    now = timezone.now()
    close(drop, now=now)
    services.draw_run(drop.pk, now=now)
    real_mails_queue = draw_module.mails_queue
    calls = {"count": 0}

    def dying_mails_queue(template, request_ids, variant_of, contexts):
        calls["count"] += 1
        real_mails_queue(template, request_ids, variant_of, contexts)
        if calls["count"] == 2:  # the second batch of two, written but not committed
            raise SystemExit("worker killed")

    monkeypatch.setattr(draw_module, "mails_queue", dying_mails_queue)
    with pytest.raises(SystemExit):
        services.notify_not_drawn(drop.pk, batch_size=2, now=now)
    monkeypatch.setattr(draw_module, "mails_queue", real_mails_queue)
    assert OutgoingEmail.objects.filter(template="invitation_not_drawn").count() == 2
    assert InvitationRequest.objects.filter(notified_at__isnull=False).count() == 2
    draws_due_task()
    draws_due_task()
    outbox.relay()
    not_drawn = OutgoingEmail.objects.filter(template="invitation_not_drawn")
    assert not_drawn.count() == 5
    assert len(set(not_drawn.values_list("to", flat=True))) == 5


def test_the_lottery_shows_no_bias_by_request_time():
    """Chi-square over 2,000 seeds: 200 requests in 10 arrival-time buckets, 20 winners each.
    Request ids grow with arrival time, so this is also the test for bias by id order."""
    buckets = [0] * 10
    for index in range(2000):
        seed = random.Random(index).getrandbits(256).to_bytes(32, "big").hex()
        for winner in lottery.draw_winners(seed, 1, range(1, 201), 20):
            buckets[(winner - 1) // 20] += 1
    expected = 2000 * 20 / 10
    chi_square = sum((observed - expected) ** 2 / expected for observed in buckets)
    assert chi_square < 21.67  # 9 degrees of freedom, p = 0.01


def test_the_lottery_shows_no_bias_by_id_digits_or_parity():
    """Chi-square by the last digit of scattered ids (10 buckets of 20 requests each)."""
    rng = random.Random(7)
    ids_by_digit = {digit: [] for digit in range(10)}
    while any(len(ids) < 20 for ids in ids_by_digit.values()):
        candidate = rng.randrange(1, 10**7)
        if len(ids_by_digit[candidate % 10]) < 20 and candidate not in ids_by_digit[candidate % 10]:
            ids_by_digit[candidate % 10].append(candidate)
    ids = [i for bucket in ids_by_digit.values() for i in bucket]
    buckets = [0] * 10
    for index in range(2000):
        seed = random.Random(10_000 + index).getrandbits(256).to_bytes(32, "big").hex()
        for winner in lottery.draw_winners(seed, 1, ids, 20):
            buckets[winner % 10] += 1
    expected = 2000 * 20 / 10
    chi_square = sum((observed - expected) ** 2 / expected for observed in buckets)
    assert chi_square < 21.67


@pytest.mark.django_db
def test_the_database_ranks_exactly_as_the_published_rule():
    """The draw ranks in SQL; the chi-square tests above hold for it only if it is the same
    function. Ids of every length from 1 to 9 digits, many seeds and rounds, top-K and order."""
    rng = random.Random(11)
    ids = sorted({rng.randrange(1, 10 ** rng.randrange(1, 10)) for _ in range(400)})
    rank = lottery.rank_sql("id")
    sql = f"SELECT id FROM unnest(%(ids)s::bigint[]) AS id ORDER BY {rank}, id LIMIT %(k)s"  # noqa: S608
    with connection.cursor() as cursor:
        for index in range(60):
            seed = lottery.new_seed()
            round_number = 1 + index % 3
            cursor.execute(sql, {"ids": ids, "k": 25, **lottery.rank_sql_keys(seed, round_number)})
            in_sql = [row[0] for row in cursor.fetchall()]
            by_rank = sorted(ids, key=lambda i, s=seed, r=round_number: lottery.rank(s, r, i))
            assert in_sql == by_rank[:25]
            assert sorted(in_sql) == lottery.draw_winners(seed, round_number, ids, 25)


@pytest.mark.django_db
def test_a_request_admitted_after_the_draw_waits_for_a_further_round_untold(staff):
    drop = make_drop(units=1, stock=5)
    requests_for(drop, 3)
    late, _ = request(drop, customer(), ip="192.0.9.9", agent="curl/8.0")
    assert late.state == "screened_out"
    close(drop)
    services.draw_run(drop.pk)
    services.verdict_override(late.pk, screened_out=False, actor=staff, reason="a person")
    late = InvitationRequest.objects.select_related("drop").get(pk=late.pk)
    assert (late.state, shown_state(late)) == ("not_drawn", "not_drawn")
    assert services.notify_not_drawn(drop.pk) == 2  # the two drawn against, not the late one
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    services.invitations_expire()
    second = Draw.objects.get(drop=drop, round=2)
    assert late.pk in second.eligible_request_ids
    told = 2 if late.pk in second.winner_request_ids else 3
    services.notify_not_drawn(drop.pk)
    assert OutgoingEmail.objects.filter(template="invitation_not_drawn").count() == told


@pytest.mark.django_db
def test_statuses_follow_the_clock_and_the_beat_task_draws_at_the_close():
    now = timezone.now()
    drop = make_drop(
        units=1, opens=now + timedelta(hours=1), closes=now + timedelta(hours=2), now=now
    )
    assert drop.status == "scheduled"
    services.draws_due(now=now + timedelta(minutes=61))
    assert Drop.objects.get(pk=drop.pk).status == "open"
    requests_for(drop, 3, now=now + timedelta(minutes=62))
    assert services.draws_due(now=now + timedelta(minutes=119)) == []
    draws = services.draws_due(now=now + timedelta(hours=2))
    assert [(d.drop_id, d.round, len(d.winner_request_ids)) for d in draws] == [(drop.pk, 1, 1)]
    assert Drop.objects.get(pk=drop.pk).status == "drawn"
    assert services.draws_due(now=now + timedelta(hours=3)) == []
    assert Draw.objects.count() == 1


@pytest.mark.django_db
def test_expired_invitations_release_their_units_to_a_further_round():
    drop = make_drop(units=1)
    requests_for(drop, 3)
    close(drop)
    services.draw_run(drop.pk)
    first = Invitation.objects.get()
    assert invitations_expire_task() == 0  # nothing due yet
    assert services.invitations_expire(now=first.expires_at + timedelta(seconds=1)) == 1
    first.refresh_from_db()
    assert first.status == "expired"
    assert first.request.state == "expired"
    second = Invitation.objects.exclude(pk=first.pk).get()
    assert (second.round, second.status) == (2, "invited")
    assert second.request_id != first.request_id
    assert Offer.objects.get(pk=drop.offer_id).stock == 9  # still held, not back in stock
    assert Drop.objects.get(pk=drop.pk).held_units == 1
    assert services.draw_verify(drop.pk, 2)[0] is True
    outbox.relay()
    assert OutgoingEmail.objects.filter(template="invitation_granted").count() == 2


@pytest.mark.django_db
def test_a_winner_not_yet_reached_by_the_follow_up_is_never_drawn_again(staff):
    drop = make_drop(units=2, stock=10)
    requests_for(drop, 6)
    close(drop)
    first = services.draw_run(drop.pk)
    # No follow-up yet: both winners' rows still say "received", as the draw left them.
    assert set(
        InvitationRequest.objects.filter(pk__in=first.winner_request_ids).values_list(
            "state", flat=True
        )
    ) == {"received"}
    # Staff cannot screen out a winner either.
    kept = services.verdict_override(
        first.winner_request_ids[0], screened_out=True, actor=staff, reason="looks odd"
    )
    assert (kept.state, kept.is_automated_verdict) == ("received", True)
    expiring = Invitation.objects.get(request_id=first.winner_request_ids[0])
    Invitation.objects.filter(pk=expiring.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    services.invitations_expire()
    second = Draw.objects.get(drop=drop, round=2)
    others = sorted(
        set(InvitationRequest.objects.filter(drop=drop).values_list("pk", flat=True))
        - set(first.winner_request_ids)
    )
    assert second.eligible_request_ids == others
    assert second.winner_request_ids == independent_replay(drop.seed, 2, others, 1)
    assert Invitation.objects.filter(drop=drop).count() == 3
    assert services.notify_not_drawn(drop.pk) == 3
    assert dict(
        InvitationRequest.objects.filter(drop=drop)
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    ) == {"expired": 1, "invited": 2, "not_drawn": 3}


@pytest.mark.django_db
def test_an_expiry_killed_before_its_round_is_mended_by_the_next_run(monkeypatch):
    drop = make_drop(units=1)
    requests_for(drop, 3)
    close(drop)
    services.draw_run(drop.pk)
    later = Invitation.objects.get().expires_at + timedelta(seconds=1)

    def killed(**kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(draw_module, "drops_redraw", killed)
    with pytest.raises(SystemExit):
        services.invitations_expire(now=later)
    monkeypatch.undo()
    assert Invitation.objects.filter(status="expired").count() == 1
    assert Draw.objects.count() == 1
    services.invitations_expire(now=later)
    services.invitations_expire(now=later)
    assert list(Draw.objects.order_by("round").values_list("round", "units")) == [(1, 1), (2, 1)]
    assert Invitation.objects.filter(status="invited").count() == 1


@pytest.mark.django_db
def test_units_go_back_to_stock_when_nobody_is_left_to_draw():
    drop = make_drop(units=2, stock=5)
    requests_for(drop, 2)
    close(drop)
    services.draw_run(drop.pk)
    assert Offer.objects.get(pk=drop.offer_id).stock == 3
    later = Invitation.objects.first().expires_at + timedelta(seconds=1)
    services.invitations_expire(now=later)
    assert Offer.objects.get(pk=drop.offer_id).stock == 5
    assert Drop.objects.get(pk=drop.pk).held_units == 0
    assert Drop.objects.get(pk=drop.pk).status == "completed"
    assert Draw.objects.count() == 1


@pytest.mark.django_db
def test_fewer_eligible_requests_than_units_hold_only_what_is_drawn():
    drop = make_drop(units=5, stock=10)
    requests_for(drop, 2)
    close(drop)
    draw = services.draw_run(drop.pk)
    assert (draw.units, len(draw.winner_request_ids)) == (2, 2)
    assert Offer.objects.get(pk=drop.offer_id).stock == 8


@pytest.mark.django_db
def test_a_limit_of_two_per_customer_holds_two_units_per_invitation():
    drop = make_drop(units=3, limit_per_customer=2)
    requests_for(drop, 4)
    close(drop)
    draw = services.draw_run(drop.pk)
    assert len(draw.winner_request_ids) == 2
    assert list(Invitation.objects.order_by("request_id").values_list("quantity", flat=True)) == [
        2,
        1,
    ]
    assert services.draw_verify(drop.pk, 1)[0] is True
    assert Drop.objects.get(pk=drop.pk).held_units == 3


@pytest.mark.django_db
def test_a_screened_out_request_never_wins():
    drop = make_drop(units=5)
    honest = requests_for(drop, 2)
    bot = customer(days_old=0, delivered=0)
    request(drop, bot, agent="curl/8.0")
    close(drop)
    draw = services.draw_run(drop.pk)
    assert draw.winner_request_ids == sorted(r.pk for r in honest)
    assert InvitationRequest.objects.get(customer=bot).state == "screened_out"


@pytest.mark.django_db
def test_the_public_drop_page_reveals_the_seed_after_the_draw_and_anyone_can_replay(api):
    drop = make_drop(units=2)
    requests_for(drop, 7)
    before = api.get(f"/api/drops/{drop.pk}/").json()
    close(drop)
    ids = eligible_ids(drop)
    services.draw_run(drop.pk)
    after = api.get(f"/api/drops/{drop.pk}/").json()
    assert (before["seed"], before["draws"]) == (None, [])
    assert hashlib.sha256(after["seed"].encode()).hexdigest() == before["seed_hash"]
    [round_one] = after["draws"]
    assert round_one["eligible_count"] == 7
    assert (
        round_one["eligible_digest"] == hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()
    )
    assert round_one["winner_request_ids"] == independent_replay(after["seed"], 1, ids, 2)
    assert api.get("/api/drops/999999/").json()["code"] == "drop_not_found"
