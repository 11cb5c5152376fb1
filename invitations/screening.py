"""Bot screening: cheap rules at request time, cluster rules over the whole drop before the draw.

Pure functions over plain values: the services gather the inputs, these decide. The rules, their
weights and thresholds are in ``invitations.constants.RULES``.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
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
    ``fresh`` (see :func:`is_fresh`).
    """
    fired: dict[int, list[Fired]] = defaultdict(list)
    by_address = Counter(r["address_key"] for r in requests if r["address_key"])
    by_network = Counter(r["network"] for r in requests if r["network"])
    fresh_by_network = Counter(r["network"] for r in requests if r["network"] and r["fresh"])
    by_device = Counter(r["device_id"] for r in requests if r["device_id"])
    address_rule = RULES["shared_address"]
    network_rule = RULES["fresh_network_cluster"]
    device_rule = RULES["device_reuse"]
    for r in requests:
        accounts = by_address[r["address_key"]] if r["address_key"] else 0
        if accounts >= address_rule.threshold:
            fired[r["id"]].append(fire("shared_address", f"{accounts} accounts", stage="batch"))
        fresh = fresh_by_network[r["network"]] if r["network"] else 0
        if (
            r["fresh"]
            and fresh >= network_rule.threshold
            and fresh >= FRESH_NETWORK_SHARE * by_network[r["network"]]
        ):
            fired[r["id"]].append(
                fire(
                    "fresh_network_cluster",
                    f"{fresh} of {by_network[r['network']]} fresh",
                    stage="batch",
                )
            )
        # Over the whole drop the device rule sees the accounts that came after this one too.
        devices = by_device[r["device_id"]] if r["device_id"] else 0
        if devices >= device_rule.threshold:
            fired[r["id"]].append(
                fire("device_reuse", f"{devices} accounts in the drop", stage="batch")
            )
    burst = RULES["signup_burst"]
    window = burst.window or timedelta(0)
    recent = sorted(
        (r["date_joined"], r["id"])
        for r in requests
        if opens_at - SIGNUP_BURST_LOOKBACK <= r["date_joined"] <= opens_at
    )
    times = [joined.timestamp() for joined, _ in recent]
    half = window.total_seconds() / 2
    for joined, request_id in recent:
        stamp = joined.timestamp()
        neighbours = bisect_right(times, stamp + half) - bisect_left(times, stamp - half)
        if neighbours >= burst.threshold:
            fired[request_id].append(
                fire("signup_burst", f"{neighbours} sign-ups within the window", stage="batch")
            )
    return fired


def merge(request_time: list[Fired], batch: list[Fired]) -> Verdict:
    """Request-time rules plus this batch's; a rule counts once (the batch re-judges its own)."""
    kept = [rule for rule in request_time if rule.get("stage", "request") == "request"]
    codes = {rule["code"] for rule in kept}
    return Verdict(kept + [rule for rule in batch if rule["code"] not in codes])
