"""Bot screening: cheap rules at request time, cluster rules over the whole drop before the draw."""

from __future__ import annotations

import ipaddress
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from invitations.constants import AUTOMATION_AGENTS, DISPOSABLE_DOMAINS, RULES, SCREEN_OUT_SCORE


def network_of(ip: str | None) -> str:
    """The /24 (IPv4) or /48 (IPv6) a request came from: one household or office, roughly."""
    if not ip:
        return ""
    address = ipaddress.ip_address(ip)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def address_key(line1: str, postal_code: str, country: str) -> str:
    """Normalised delivery address: case, spaces and punctuation do not make a new address."""
    simple = "".join(ch for ch in line1.lower() if ch.isalnum())
    simple = simple.replace("strasse", "str").replace("straße", "str").replace("street", "st")
    return f"{country.upper()}|{''.join(postal_code.split()).upper()}|{simple}"


@dataclass
class Verdict:
    fired: list[dict[str, Any]]

    @property
    def score(self) -> int:
        return sum(int(rule["weight"]) for rule in self.fired)

    @property
    def is_screened_out(self) -> bool:
        return self.score >= SCREEN_OUT_SCORE

    @property
    def category(self) -> str:
        if not self.fired:
            return ""
        heaviest = max(self.fired, key=lambda rule: (int(rule["weight"]), rule["code"]))
        return str(heaviest["category"])

    def as_json(self) -> dict[str, Any]:
        return {"fired": self.fired, "score": self.score, "threshold": SCREEN_OUT_SCORE}


def _fire(code: str, detail: str) -> dict[str, Any]:
    rule = RULES[code]
    return {"code": code, "weight": rule["weight"], "category": rule["category"], "detail": detail}


def request_time_rules(
    *,
    account_age_days: float,
    delivered_orders: int,
    email: str,
    user_agent: str,
    same_network_recent: int,
    same_device_recent: int,
) -> list[dict[str, Any]]:
    fired = []
    if account_age_days < RULES["new_account"]["max_age"].days:  # type: ignore[union-attr]
        fired.append(_fire("new_account", f"{account_age_days:.1f} days"))
    if delivered_orders == 0:
        fired.append(_fire("no_purchase_history", "0 delivered orders"))
    if same_network_recent >= int(RULES["network_burst"]["threshold"]):  # type: ignore[call-overload]
        fired.append(_fire("network_burst", f"{same_network_recent} recent requests"))
    if same_device_recent >= int(RULES["device_reuse"]["threshold"]):  # type: ignore[call-overload]
        fired.append(_fire("device_reuse", f"{same_device_recent} accounts"))
    if email.rsplit("@", 1)[-1].lower() in DISPOSABLE_DOMAINS:
        fired.append(_fire("disposable_email", email.rsplit("@", 1)[-1]))
    agent = user_agent.lower()
    if not agent or any(marker in agent for marker in AUTOMATION_AGENTS):
        fired.append(_fire("automation_agent", user_agent[:80] or "no user agent"))
    return fired


def batch_rules(
    requests: list[dict[str, Any]], *, opens_at: datetime
) -> dict[int, list[dict[str, Any]]]:
    """Cluster rules over all requests of a drop: {request id: rules fired}."""
    fired: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_address = Counter(r["address_key"] for r in requests if r["address_key"])
    by_network = Counter(r["network"] for r in requests if r["network"])
    for r in requests:
        if r["address_key"] and by_address[r["address_key"]] >= int(
            RULES["shared_address"]["threshold"]
        ):  # type: ignore[call-overload]
            fired[r["id"]].append(
                _fire("shared_address", f"{by_address[r['address_key']]} accounts")
            )
        if r["network"] and by_network[r["network"]] >= int(RULES["shared_network"]["threshold"]):  # type: ignore[call-overload]
            fired[r["id"]].append(_fire("shared_network", f"{by_network[r['network']]} accounts"))
    window = RULES["signup_burst"]["window"]
    before = RULES["signup_burst"]["before_open"]
    recent = sorted(
        (r["date_joined"], r["id"])
        for r in requests
        if opens_at - before <= r["date_joined"] <= opens_at  # type: ignore[operator]
    )
    times = [joined.timestamp() for joined, _ in recent]
    half = window.total_seconds() / 2  # type: ignore[union-attr]
    threshold = int(RULES["signup_burst"]["threshold"])  # type: ignore[call-overload]
    for joined, request_id in recent:
        stamp = joined.timestamp()
        neighbours = bisect_right(times, stamp + half) - bisect_left(times, stamp - half)
        if neighbours >= threshold:
            fired[request_id].append(_fire("signup_burst", f"{neighbours} accounts within an hour"))
    return fired
