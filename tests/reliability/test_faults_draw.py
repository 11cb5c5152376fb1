"""The draw worker, a real process, killed with SIGKILL at several points of its work (after the
screening, inside the draw's transaction, between batches of notices, between e-mails of the
relay) and run again until it finishes: the same winners every time, every e-mail handed over
exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from email import message_from_string

import pytest
from django.db import connection

from bench.harness import ROOT
from core.models import OutgoingEmail
from invitations.models import Draw, InvitationRequest
from tests.invitations.factories import close, make_drop
from tests.invitations.test_draws import independent_replay, requests_for
from tests.utils import child_env

REQUESTS = 150
UNITS = 20
NOTIFY_BATCH = 40

# What the lottery worker does for a drop (draw task, notices task, relay), with a hook that
# SIGKILLs the process itself at the n-th passage of a named point. The winners each run computes
# are logged before anything can kill it, so runs that died can be compared with the last one.
WORKER = """
import json, os, signal
import django
django.setup()
from django.conf import settings
from django.core.mail import EmailMessage
from core import outbox
from invitations.services import draws

settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
settings.EMAIL_FILE_PATH = os.environ["MAIL_DIR"]
point, _, nth = os.environ.get("KILL_AT", "").partition(":")
passages = {}

def passage(name):
    passages[name] = passages.get(name, 0) + 1
    if name == point and passages[name] == int(nth):
        os.kill(os.getpid(), signal.SIGKILL)

def hooked(func, name, before=True):
    def wrapper(*args, **kwargs):
        if before:
            passage(name)
        result = func(*args, **kwargs)
        if not before:
            passage(name)
        return result
    return wrapper

# The draw picks its winners in SQL, inside its transaction; they are logged when the invitations
# are about to be written, before the winners' e-mails (where a kill may land).
real_invite = draws._invite
def invite(drop, draw, now):
    with open(os.environ["WINNERS_LOG"], "a") as log:
        log.write(json.dumps(draw.winner_request_ids) + "\\n")
    return real_invite(drop, draw, now)

draws._invite = invite
draws.screening_batch = hooked(draws.screening_batch, "screened", before=False)
# One passage per bulk of e-mails: the winners' (inside the draw transaction), then each batch of
# notices.
draws.mails_queue = hooked(draws.mails_queue, "queue")
EmailMessage.send = hooked(EmailMessage.send, "send")
# The notices task the draw queues after its commit is lost with the process; this worker sends
# the notices itself, in small batches, as the periodic run would.
draws._schedule_notifications = lambda drop_id: None

drop_id = int(os.environ["DROP_ID"])
draws.draw_run(drop_id)
draws.notify_not_drawn(drop_id, batch_size=int(os.environ["NOTIFY_BATCH"]))
outbox.relay()
"""

ALL = -1
# Where the worker dies, and what must then be committed: rounds drawn, requests told they were
# not drawn, e-mails sent.
KILL_POINTS = [
    ("after the screening, before the draw", "screened:1", (0, 0, 0)),
    ("inside the draw transaction, queueing the winners' e-mails", "queue:1", (0, 0, 0)),
    ("3rd batch of not-drawn notices", "queue:4", (1, 2 * NOTIFY_BATCH, 0)),
    ("relay, before the 40th e-mail", "send:40", (1, ALL, 39)),
    ("relay, before the 25th e-mail", "send:25", (1, ALL, 39 + 24)),
]


def _committed(drop) -> tuple[int, int, int]:
    connection.close()
    # In a drawn drop a request still "received" was not drawn and is not told yet.
    not_drawn = InvitationRequest.objects.filter(drop=drop, state__in=["received", "not_drawn"])
    notified = not_drawn.filter(notified_at__isnull=False).count()
    return (
        Draw.objects.filter(drop=drop).count(),
        ALL if notified and notified == not_drawn.count() else notified,
        OutgoingEmail.objects.filter(status=OutgoingEmail.Status.SENT).count(),
    )


def _worker(env: dict[str, str], kill_at: str = "") -> int:
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", WORKER],
        cwd=ROOT,
        env={**env, "KILL_AT": kill_at},
        timeout=300,
        check=False,
    ).returncode


def _handed_over(mail_dir) -> list[tuple[str, str]]:
    """(Message-ID, recipient) of every message the worker gave the mail backend."""
    messages = []
    for path in sorted(mail_dir.iterdir()):
        for chunk in path.read_text().split("-" * 79):
            if chunk.strip():
                message = message_from_string(chunk.strip())
                messages.append((message["Message-ID"], message["To"]))
    return messages


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_draw_worker_killed_at_several_points_and_run_again_draws_the_same_winners_and_mails_once(
    figure, tmp_path
):
    drop = make_drop(units=UNITS, stock=UNITS + 10)
    requests_for(drop, REQUESTS)
    close(drop)
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    winners_log = tmp_path / "winners.jsonl"
    env = child_env(
        DROP_ID=str(drop.pk),
        MAIL_DIR=str(mail_dir),
        WINNERS_LOG=str(winners_log),
        NOTIFY_BATCH=str(NOTIFY_BATCH),
    )

    for _where, kill_at, committed in KILL_POINTS:
        assert _worker(env, kill_at) == -signal.SIGKILL, kill_at
        assert _committed(drop) == committed, kill_at
    assert _worker(env) == 0
    assert _worker(env) == 0  # the task delivered twice
    connection.close()

    draw = Draw.objects.get(drop=drop)
    assert Draw.objects.filter(drop=drop).count() == 1
    screened_in = sorted(
        InvitationRequest.objects.filter(drop=drop)
        .exclude(state="screened_out")
        .values_list("pk", flat=True)
    )
    assert draw.eligible_request_ids == screened_in
    expected = independent_replay(drop.seed, 1, screened_in, UNITS)
    computed = [json.loads(line) for line in winners_log.read_text().splitlines()]
    assert len(computed) == 2  # the killed draw and the one that committed
    assert all(winners == expected for winners in computed)
    assert draw.winner_request_ids == expected

    emails = dict(InvitationRequest.objects.filter(drop=drop).values_list("pk", "customer__email"))
    granted = OutgoingEmail.objects.filter(template="invitation_granted")
    not_drawn = OutgoingEmail.objects.filter(template="invitation_not_drawn")
    assert sorted(granted.values_list("to", flat=True)) == sorted(emails[pk] for pk in expected)
    assert sorted(not_drawn.values_list("to", flat=True)) == sorted(
        emails[pk] for pk in screened_in if pk not in expected
    )
    queued = {f"<{pk}@marketplace>": to for pk, to in OutgoingEmail.objects.values_list("pk", "to")}
    assert not OutgoingEmail.objects.exclude(status=OutgoingEmail.Status.SENT).exists()
    handed_over = _handed_over(mail_dir)
    counts = Counter(message_id for message_id, _to in handed_over)
    duplicates = sum(n - 1 for n in counts.values())
    missing = len(set(queued) - set(counts))
    assert duplicates == 0
    assert missing == 0
    assert set(counts) == set(queued)
    assert all(queued[message_id] == to for message_id, to in handed_over)
    figure(
        "draw worker killed at several points, then re-run",
        f"{REQUESTS} requests, {UNITS} units; {len(KILL_POINTS)} SIGKILLs "
        f"({', '.join(where for where, _kill, _committed in KILL_POINTS)}), then 2 full runs: "
        f"winners identical in {len(computed)}/{len(computed)} computations and to the replay, "
        f"{len(handed_over)} e-mails handed over for {len(queued)} queued: "
        f"{duplicates} duplicate, {missing} missing",
    )
