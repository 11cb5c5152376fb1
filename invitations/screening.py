"""Bot screening: cheap rules at request time, cluster rules over the whole drop before the draw.

Pure functions over plain values: the services gather the inputs, these decide. The rules, their
weights and thresholds are in ``invitations.constants.RULES``.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from invitations.constants import (
    AUTOMATION_AGENTS,
    DISPOSABLE_DOMAINS,
    FRESH_NETWORK_SHARE,
    RULES,
    SCREEN_OUT_SCORE,
    SIGNUP_BURST_LOOKBACK,
)

Fired = dict[str, Any]


def valid_ip(value: str | None) -> str | None:
    """The address if it parses, else None: a malformed forwarded header must not crash intake."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def network_of(ip: str | None) -> str:
    """The /24 (IPv4) or /48 (IPv6) a request came from: one household or office, roughly."""
    address = valid_ip(ip)
    if address is None:
        return ""
    prefix = 24 if ipaddress.ip_address(address).version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def address_key(line1: str, postal_code: str, country: str) -> str:
    """Normalised delivery address: case, spaces and punctuation do not make a new address."""
    simple = line1.lower().replace("straße", "strasse")
    simple = "".join(ch for ch in simple if ch.isalnum())
    simple = simple.replace("strasse", "str").replace("street", "st")
    return f"{country.upper()}|{''.join(postal_code.split()).upper()}|{simple}"


@dataclass
class Verdict:
    """The rules that fired for one request and what they add up to."""

    fired: list[Fired]

    @property
    def score(self) -> int:
        return sum(int(rule["weight"]) for rule in self.fired)

    @property
    def is_screened_out(self) -> bool:
        return self.score >= SCREEN_OUT_SCORE

    @property
    def category(self) -> str:
        """The heaviest suspicious rule's category: what the customer is told."""
        suspicious = [rule for rule in self.fired if int(rule["weight"]) > 0]
        if not suspicious:
            return ""
        heaviest = max(suspicious, key=lambda rule: (int(rule["weight"]), rule["code"]))
        return str(heaviest["category"])

    def as_json(self, *, automated: bool = True) -> dict[str, Any]:
        return {
            "fired": self.fired,
            "score": self.score,
            "threshold": SCREEN_OUT_SCORE,
            "automated": automated,
        }


def fire(code: str, detail: str, *, stage: str = "request") -> Fired:
    rule = RULES[code]
    return {
        "code": code,
        "weight": rule.weight,
        "category": rule.category,
        "stage": stage,
        "detail": detail,
    }


def request_time_rules(
    *,
    account_age_days: float,
    delivered_orders: int,
    email: str,
    user_agent: str,
    same_network_recent: int,
    same_device_recent: int,
) -> list[Fired]:
    """The cheap rules: what the account and this one request say."""
    fired = []
    if account_age_days < RULES["new_account"].threshold:
        fired.append(fire("new_account", f"{account_age_days:.1f} days"))
    if delivered_orders < RULES["no_purchase_history"].threshold:
        fired.append(fire("no_purchase_history", f"{delivered_orders} delivered orders"))
    elif account_age_days >= RULES["established_customer"].threshold:
        fired.append(
            fire("established_customer", f"{account_age_days:.0f} days, {delivered_orders} orders")
        )
    if same_network_recent >= RULES["network_burst"].threshold:
        fired.append(fire("network_burst", f"{same_network_recent} recent requests"))
    if same_device_recent >= RULES["device_reuse"].threshold:
        fired.append(fire("device_reuse", f"{same_device_recent} accounts"))
    domain = email.rsplit("@", 1)[-1].lower()
    if domain in DISPOSABLE_DOMAINS:
        fired.append(fire("disposable_email", domain))
    agent = user_agent.lower()
    if not agent.strip() or any(marker in agent for marker in AUTOMATION_AGENTS):
        fired.append(fire("automation_agent", user_agent[:80] or "no user agent"))
    return fired


def is_fresh(request_time_fired: Iterable[Fired]) -> bool:
    """An account with nothing delivered yet: what farms are made of."""
    return any(rule["code"] == "no_purchase_history" for rule in request_time_fired)


def batch_rules(
    requests: Sequence[Mapping[str, Any]], *, opens_at: datetime
) -> dict[int, list[Fired]]:
    """Cluster rules over all requests of a drop: {request id: rules fired}.

    Each request is a dict with id, address_key, network, device_id, customer_id, date_joined and
    ``fresh`` (see :func:`is_fresh`). The reference: the draw counts the same clusters in SQL
    (services.requests.screening_batch) and feeds the counts to :func:`cluster_rules`.
    """
    by_address = Counter(r["address_key"] for r in requests if r["address_key"])
    by_network = Counter(r["network"] for r in requests if r["network"])
    fresh_by_network = Counter(r["network"] for r in requests if r["network"] and r["fresh"])
    by_device = Counter(r["device_id"] for r in requests if r["device_id"])
    burst = RULES["signup_burst"]
    window = burst.window or timedelta(0)
    recent = sorted(
        (r["date_joined"], r["id"])
        for r in requests
        if opens_at - SIGNUP_BURST_LOOKBACK <= r["date_joined"] <= opens_at
    )
    times = [joined.timestamp() for joined, _ in recent]
    half = window.total_seconds() / 2
    neighbours = {
        request_id: bisect_right(times, joined.timestamp() + half)
        - bisect_left(times, joined.timestamp() - half)
        for joined, request_id in recent
    }
    fired: dict[int, list[Fired]] = {}
    for r in requests:
        rules = cluster_rules(
            address_accounts=by_address[r["address_key"]] if r["address_key"] else 0,
            network_requests=by_network[r["network"]] if r["network"] else 0,
            network_fresh=fresh_by_network[r["network"]] if r["network"] else 0,
            fresh=r["fresh"],
            device_accounts=by_device[r["device_id"]] if r["device_id"] else 0,
            burst_neighbours=neighbours.get(r["id"], 0),
        )
        if rules:
            fired[r["id"]] = rules
    return fired


def cluster_rules(
    *,
    address_accounts: int,
    network_requests: int,
    network_fresh: int,
    fresh: bool,
    device_accounts: int,
    burst_neighbours: int,
) -> list[Fired]:
    """The batch rules of one request, from the sizes of the clusters it belongs to in the drop."""
    fired = []
    if address_accounts >= RULES["shared_address"].threshold:
        fired.append(fire("shared_address", f"{address_accounts} accounts", stage="batch"))
    if (
        fresh
        and network_fresh >= RULES["fresh_network_cluster"].threshold
        and network_fresh >= FRESH_NETWORK_SHARE * network_requests
    ):
        fired.append(
            fire(
                "fresh_network_cluster",
                f"{network_fresh} of {network_requests} fresh",
                stage="batch",
            )
        )
    # Over the whole drop the device rule sees the accounts that came after this one too.
    if device_accounts >= RULES["device_reuse"].threshold:
        fired.append(fire("device_reuse", f"{device_accounts} accounts in the drop", stage="batch"))
    if burst_neighbours >= RULES["signup_burst"].threshold:
        fired.append(
            fire("signup_burst", f"{burst_neighbours} sign-ups within the window", stage="batch")
        )
    return fired


def merge(request_time: list[Fired], batch: list[Fired]) -> Verdict:
    """Request-time rules plus this batch's; a rule counts once (the batch re-judges its own)."""
    kept = [rule for rule in request_time if rule.get("stage", "request") == "request"]
    codes = {rule["code"] for rule in kept}
    return Verdict(kept + [rule for rule in batch if rule["code"] not in codes])
