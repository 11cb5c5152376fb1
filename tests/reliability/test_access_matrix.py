# ruff: noqa: E501 - the access table reads best as one route per line
"""The access matrix: every route the project serves (API, seller dashboard, Django admin, the few
operational pages) x every persona x every method, against a table of expected answers.

The routes come from the URL resolver and the API's methods from the OpenAPI schema, so a new route
or a new method enters the matrix by itself and fails until the table says who may use it. Each
request runs in a savepoint that is rolled back afterwards, so every one starts from the same data;
a refused request must also leave every table unchanged, and no body may show one persona the
records of another.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from tests.reliability.access_personas import (
    PERSONAS,
    World,
    WriteCounter,
    all_routes,
    build_world,
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
LOGIN = "login"  # a 302 to a sign-in page
SIGNED_IN = ("shopper_a", "shopper_b", "seller_a", "seller_b", "staff_without_permission")
SHIP = {"carrier": "dhl", "tracking_number": "00340434161234567890"}
APPEAL = {
    "root_cause": "A late courier.",
    "corrective_actions": "A second courier.",
    "preventive_measures": "Daily checks.",
}
RULES = [{"country": "DE", "transit_days_min": 1, "transit_days_max": 3}]


@dataclass(frozen=True)
class Rule:
    """Who may use a route. ``audience`` names the group entitled to it:

    - ``public``: everybody (a deactivated user's stale token is refused by the API all the same);
    - ``signed_in``: any signed-in user, each on their own records;
    - ``shopper_a``: the route names one of shopper A's records (others get 404);
    - ``sellers``: any seller, on their own records (others 403);
    - ``seller_a``: the route names one of seller A's records (seller B gets 404, others 403);
    - ``staff``: staff with the permission the route needs (nobody among the personas).

    ``answers`` maps each method the route implements to the status the entitled persona gets;
    ``special`` overrides single cells as ``{(persona, method): status}``; ``path`` names the
    record of the URL and ``query`` a query string (``{name}`` takes the id of a record).
    """

    audience: str
    answers: dict[str, int]
    path: str | None = None
    query: str = ""
    bodies: dict[str, Any] = field(default_factory=dict)
    special: dict[tuple[str, str], int | str] = field(default_factory=dict)
    # The status of a persona of the right kind who does not own the record named.
    others: int = 404
    # False for the login view: it reads no credentials, so stale ones do not matter.
    authenticates: bool = True
    # A dashboard view that refuses the method before it asks who you are (require_POST outside).
    method_first: bool = False


# fmt: off
API: dict[str, Rule] = {
    "api-register": Rule("public", {"POST": 201}, bodies={"POST": {"email": "new.one@example.test", "password": "a-long-new-passphrase-42"}}),
    "api-login": Rule("public", {"POST": 200}, authenticates=False, bodies={"POST": {"email": "matrix.shopper.b@example.test", "password": "correct-horse-battery"}}),
    "api-me": Rule("signed_in", {"GET": 200}),
    "api-categories": Rule("public", {"GET": 200}),
    "api-products": Rule("public", {"GET": 200}),
    "api-addresses": Rule("signed_in", {"GET": 200, "POST": 201}, bodies={"POST": {"name": "N", "line1": "Weg 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}}),
    "api-address": Rule("shopper_a", {"GET": 200, "PATCH": 200, "DELETE": 204}, path="address", bodies={"PATCH": {"city": "Potsdam", "postal_code": "14467"}}),
    "api-my-orders": Rule("signed_in", {"GET": 200}),
    "api-my-order": Rule("shopper_a", {"GET": 200}, path="order"),
    "api-my-order-cancel": Rule("shopper_a", {"POST": 200}, path="order", bodies={"POST": {"reason": "changed my mind"}}),
    "api-my-order-message": Rule("shopper_a", {"POST": 201}, path="order", bodies={"POST": {"body": "Where is it?"}}),
    "api-my-order-feedback": Rule("shopper_a", {"POST": 201}, path="delivered_order", bodies={"POST": {"rating": 1, "comment": "bad"}}),
    "api-my-order-claim": Rule("shopper_a", {"POST": 201}, path="delivered_order", bodies={"POST": {"reason": "never arrived"}}),
    "api-seller-offers": Rule("sellers", {"GET": 200}),
    "api-seller-offer": Rule("seller_a", {"GET": 200, "PATCH": 200}, path="offer", bodies={"PATCH": {"price": "1.00", "stock": 0}}),
    "api-seller-orders": Rule("sellers", {"GET": 200}),
    "api-seller-order": Rule("seller_a", {"GET": 200}, path="order"),
    "api-seller-order-ship": Rule("seller_a", {"POST": 200}, path="order", bodies={"POST": SHIP}),
    "api-seller-order-cancel": Rule("seller_a", {"POST": 200}, path="order", bodies={"POST": {"reason": "out of stock"}}),
    "api-seller-message-reply": Rule("seller_a", {"POST": 200}, path="message", bodies={"POST": {"body": "Tomorrow."}}),
    # With shopper A's address: A's order or quote, everybody else a 404.
    "api-checkout": Rule("shopper_a", {"POST": 201}, bodies={"POST": "checkout"}),
    "api-cart-quote": Rule("shopper_a", {"POST": 200}, bodies={"POST": "checkout"}),
    "api-staff-order": Rule("staff", {"POST": 201}, bodies={"POST": "staff_order"}),
    "api-product": Rule("public", {"GET": 200}, path="product"),
    # Shopper A's code: valid for A; for anybody else the same answer as an unknown code.
    "api-coupon-validate": Rule("shopper_a", {"POST": 200}, others=400, bodies={"POST": "coupon"}),
    "api-wallet": Rule("signed_in", {"GET": 200}),
    # To shopper A's address: A gets the decision, anybody else "no such address".
    "api-offer-shippability": Rule("shopper_a", {"GET": 200}, path="offer", query="?address={address}"),
    "api-seller-templates": Rule("sellers", {"GET": 200, "POST": 201}, bodies={"POST": {"name": "Another", "rules": RULES}}),
    "api-seller-template": Rule("seller_a", {"GET": 200, "PUT": 200, "DELETE": 204}, path="template", bodies={"PUT": {"name": "Renamed", "rules": RULES}}),
    "api-seller-rating": Rule("sellers", {"GET": 200}),
    "api-seller-rating-history": Rule("sellers", {"GET": 200}),
    "api-seller-order-scores": Rule("sellers", {"GET": 200}),
    # A placed order has no score yet: the owner's 404 and seller B's look alike on purpose.
    "api-seller-order-score": Rule("seller_a", {"GET": 404}, path="order"),
    # Ratings are shown to sellers only for now (RATINGS_VISIBLE_TO_SHOPPERS off).
    "api-public-rating": Rule("public", {"GET": 404}, path="seller"),
    "api-seller-health": Rule("sellers", {"GET": 200}),
    "api-seller-health-ledger": Rule("sellers", {"GET": 200}),
    "api-seller-violation-fixed": Rule("seller_a", {"POST": 200}, path="violation", bodies={"POST": {"statement": "Fixed it."}}),
    # Only a deactivated seller has a deactivation to read or appeal; the others get 404.
    "api-seller-deactivation": Rule("sellers", {"GET": 404}),
    "api-seller-appeal": Rule("sellers", {"POST": 404}, bodies={"POST": APPEAL}),
    "api-drops": Rule("public", {"GET": 200}),
    "api-drop": Rule("public", {"GET": 200}, path="drop"),
    # Shopper A already asked: the same request answers 200; everybody else asks anew.
    # Shopper A already asked: the same request answers 200; people without an address get 400.
    "api-drop-request": Rule("signed_in", {"POST": 201}, path="drop", special={
        ("shopper_a", "POST"): 200, ("seller_a", "POST"): 400, ("seller_b", "POST"): 400,
        ("staff_without_permission", "POST"): 400}),
    "api-my-drop-requests": Rule("signed_in", {"GET": 200}),
    "api-my-drop-request-appeal": Rule("shopper_a", {"POST": 409}, path="drop_request", bodies={"POST": {"text": "I am a person."}}),
}

DASHBOARD: dict[str, Rule] = {
    "dashboard:home": Rule("sellers", dict.fromkeys(METHODS, 200)),
    "dashboard:orders": Rule("sellers", dict.fromkeys(METHODS, 200)),
    "dashboard:order": Rule("seller_a", dict.fromkeys(METHODS, 200), path="order"),
    "dashboard:order-ship": Rule("seller_a", {"POST": 302}, path="order", bodies={"POST": SHIP}),
    "dashboard:order-cancel": Rule("seller_a", {"POST": 302}, path="order", bodies={"POST": {"reason": "out of stock"}}),
    "dashboard:order-reply": Rule("seller_a", {"POST": 302}, path="order", bodies={"POST": {"message_id": "{message}", "body": "Tomorrow."}}),
    "dashboard:offers": Rule("sellers", dict.fromkeys(METHODS, 200)),
    "dashboard:offer-update": Rule("seller_a", {"POST": 302}, path="offer", bodies={"POST": {"price": "1.00", "stock": "0", "handling_days": "1"}}),
    "dashboard:shippability": Rule("sellers", dict.fromkeys(METHODS, 200)),
    "dashboard:shippability-coverage-check": Rule("sellers", {"POST": 302}, method_first=True, bodies={"POST": {"postal_code": "10115", "country": "DE"}}),
    "dashboard:rating": Rule("sellers", dict.fromkeys(METHODS, 200)),
    "dashboard:health": Rule("sellers", dict.fromkeys(METHODS, 200)),
    # Seller B is sent back to the health page with "no such violation", like a wrong id.
    "dashboard:health-fixed": Rule("seller_a", {"POST": 302}, others=302, path="violation", bodies={"POST": {"statement": "Fixed it."}}),
    "dashboard:health-appeal": Rule("sellers", {"POST": 302}, bodies={"POST": APPEAL}),
    # Signed-in people are sent on to the dashboard, whatever the method.
    "dashboard:login": Rule("public", {"GET": 200, "POST": 200, "PUT": 200}, special={
        (persona, method): 302 for persona in SIGNED_IN for method in METHODS}),
    "dashboard:logout": Rule("public", {"POST": 302}),
}

OPERATIONS: dict[str, Rule] = {
    "health": Rule("public", dict.fromkeys(METHODS, 200), query="?celery=0"),
    # Route counts and latencies for Prometheus: nobody's records (see the secrets of the world).
    "metrics": Rule("public", dict.fromkeys(METHODS, 200)),
    "set_language": Rule("public", dict.fromkeys(METHODS, 302), bodies={"POST": {"language": "de"}}),
    "schema": Rule("public", {"GET": 200}),
    "swagger-ui": Rule("public", {"GET": 200}),
}
# fmt: on


def _body(rule: Rule, method: str, world: World) -> Any:
    body = rule.bodies.get(method)
    ids = world.ids
    lines = [{"offer_id": ids["offer"], "quantity": 1}]
    if body == "checkout":
        return {"address_id": ids["address"], "lines": lines}
    if body == "coupon":
        return {"code": world.coupon_code, "lines": lines}
    if body == "staff_order":
        return {
            "buyer_id": ids["buyer"],
            "address_id": ids["address"],
            "lines": lines,
            "override_reason": "matrix",
        }
    if isinstance(body, dict):
        return {k: v.format(**ids) if isinstance(v, str) else v for k, v in body.items()}
    return body


def _expected(rule: Rule, persona: str, method: str, api: bool) -> int | str:
    if (persona, method) in rule.special:
        return rule.special[(persona, method)]
    implemented = method in rule.answers
    signed_in = persona in SIGNED_IN
    if rule.audience == "public":
        if api and not signed_in and persona != "anonymous" and rule.authenticates:
            return 401  # a stale token is refused even where no token is needed
        return rule.answers[method] if implemented else 405
    if rule.method_first and not implemented:
        return 405
    if not signed_in:
        return 401 if api else LOGIN
    if rule.audience in ("sellers", "seller_a") and persona not in ("seller_a", "seller_b"):
        return 403
    if rule.audience == "staff":
        return 403
    if not implemented:
        return 405
    owner = rule.audience if rule.audience in ("shopper_a", "seller_a") else None
    if owner is not None and persona != owner:
        return rule.others
    return rule.answers[method]


def _schema_methods() -> dict[str, set[str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        path: {method.upper() for method in operations}
        for path, operations in schema["paths"].items()
    }


def _path(route, rule: Rule, world: World) -> str:
    path = "/" + route.pattern
    if "<" in path:
        head, _, rest = path.partition("<")
        _, _, tail = rest.partition(">")
        path = f"{head}{world.ids[rule.path]}{tail}"
    return path + rule.query.format(**world.ids)


def _call(world: World, persona: str, method: str, path: str, body: Any, api: bool):
    person = world.personas[persona]
    client = Client()
    extra = {"HTTP_USER_AGENT": "Mozilla/5.0 matrix", "HTTP_IDEMPOTENCY_KEY": "matrix"}
    if person.user is not None:
        if api:
            extra["HTTP_AUTHORIZATION"] = f"Token {person.token}"
        else:
            client.cookies[settings.SESSION_COOKIE_NAME] = person.session
    if api:
        data = json.dumps(body) if body is not None else ""
        return client.generic(method, path, data=data, content_type="application/json", **extra)
    if method == "POST":
        return client.post(path, body or {}, **extra)
    return client.generic(method, path, **extra)


def _status(response) -> int | str:
    location = response.get("Location", "")
    if response.status_code == 302 and "/login/" in location and "next=" in location:
        return LOGIN
    return response.status_code


@dataclass
class Tally:
    """What one run of cells found."""

    cells: int = 0
    refused: int = 0
    mismatches: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)

    def report(self, row: str, routes: int, seconds: float) -> None:
        print(
            f"\nRELIABILITY | {row} | {routes} routes x {len(PERSONAS)} personas x "
            f"up to {len(METHODS)} methods = {self.cells} cells, {self.cells - len(self.mismatches)} as "
            f"the table says, {len(self.mismatches)} not; {self.refused} refused, "
            f"{len(self.writes)} refused-but-written; {len(self.leaks)} reads of another's data; "
            f"{seconds:.1f} s"
        )
        print("\n".join(self.mismatches + self.leaks + self.writes))


class Cells:
    """Runs one request per cell in a savepoint rolled back afterwards, so each starts from the
    same data, and watches PostgreSQL's write counters across it."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.counter = WriteCounter()
        self.tally = Tally()
        self.last = self.counter.take()

    def run(self, path: str, persona: str, method: str, body: Any, api: bool) -> Any:
        cache.clear()  # throttles count per client: the matrix is not a flood
        savepoint = transaction.savepoint()
        response = _call(self.world, persona, method, path, body, api)
        # Counters only grow, also across the rollback: after one cell is before the next.
        before, self.last = self.last, self.counter.take()
        transaction.savepoint_rollback(savepoint)
        self.tally.cells += 1
        response.changed = WriteCounter.changed(before, self.last)
        return response

    def run_refused(self, path: str, persona: str, method: str) -> Any:
        """A cell that must not write at all: no savepoint to undo it (a write fails the test
        anyway) and no counters read; ``writes_since`` reads them once for a row of cells. That
        cuts the round trips of the admin's thousands of cells by two thirds."""
        response = _call(self.world, persona, method, path, None, api=False)
        self.tally.cells += 1
        response.changed = []
        return response

    def writes_since(self, cells: str) -> None:
        before, self.last = self.last, self.counter.take()
        changed = WriteCounter.changed(before, self.last)
        if changed:
            self.tally.writes.append(f"{cells}: refused but wrote {changed}")

    def check(self, cell: str, response, expected: Any, path: str, persona: str, watched: bool):
        answer = _status(response)
        tally = self.tally
        if answer != expected:
            tally.mismatches.append(f"{cell}: {answer}, table says {expected}")
        # A page may repeat the URL its visitor typed (a login link, a language form).
        body = response.content.decode(errors="replace").replace(path, "")
        tally.leaks.extend(f"{cell}: shows {s}" for s in self.world.secret_leaks(persona, body))
        denied = answer == LOGIN or (isinstance(answer, int) and answer >= 400)
        if denied or watched:
            tally.refused += 1
            if response.changed:
                tally.writes.append(f"{cell}: refused with {answer} but wrote {response.changed}")


@pytest.mark.slow
@pytest.mark.django_db
def test_every_route_persona_and_method_answers_as_the_table_says(settings):
    settings.AXES_ENABLED = False
    started = time.perf_counter()
    world = build_world()
    routes = [route for route in all_routes() if not route.pattern.startswith("admin/")]
    schema = _schema_methods()
    tables = {**API, **DASHBOARD, **OPERATIONS}

    unknown = sorted(route.name or route.pattern for route in routes if route.name not in tables)
    assert unknown == [], f"routes without a row in the access table: {unknown}"
    for route in routes:
        documented = schema.get("/" + route.pattern.replace("<int:", "{").replace(">", "}"))
        if documented is not None:
            assert set(tables[route.name].answers) == documented, route.name

    cells = Cells(world)
    for route in routes:
        rule = tables[route.name]
        api = route.pattern.startswith("api/")
        path = _path(route, rule, world)
        owner = rule.audience if rule.audience in ("shopper_a", "seller_a") else None
        for persona in PERSONAS:
            for method in METHODS:
                response = cells.run(path, persona, method, _body(rule, method, world), api)
                cells.check(
                    f"{method} {path} as {persona}",
                    response,
                    _expected(rule, persona, method, api),
                    path,
                    persona,
                    watched=owner is not None and persona != owner,
                )
    tally = cells.tally
    tally.report(
        "access matrix: API, dashboard, operations", len(routes), time.perf_counter() - started
    )
    assert (tally.mismatches, tally.leaks, tally.writes) == ([], [], [])


# --- Django admin ---------------------------------------------------------------------------------

# What staff without any permission get from each kind of admin view, per method. Everybody else
# who is not staff is sent to the admin's sign-in page (logout: to the admin index, which does).
ADMIN_FOR_STAFF_WITHOUT_PERMISSION: dict[str, dict[str, int]] = {
    "index": dict.fromkeys(METHODS, 200),
    "login": {"GET": 302, "POST": 200, "PUT": 200, "PATCH": 405, "DELETE": 405},
    "logout": {"GET": 405, "POST": 200, "PUT": 405, "PATCH": 405, "DELETE": 405},
    "password_change": {"GET": 200, "POST": 200, "PUT": 200, "PATCH": 405, "DELETE": 405},
    "password_change_done": {"GET": 200, "POST": 405, "PUT": 405, "PATCH": 405, "DELETE": 405},
    "autocomplete": {"GET": 403, "POST": 405, "PUT": 405, "PATCH": 405, "DELETE": 405},
    "jsi18n": {"GET": 200, "POST": 405, "PUT": 405, "PATCH": 405, "DELETE": 405},
    "view_on_site": dict.fromkeys(METHODS, 404),
    "app_list": dict.fromkeys(METHODS, 404),
    "catch_all": dict.fromkeys(METHODS, 404),
    "changelist": dict.fromkeys(METHODS, 403),
    "add": dict.fromkeys(METHODS, 403),
    "change": dict.fromkeys(METHODS, 403),
    "delete": dict.fromkeys(METHODS, 403),
    "history": dict.fromkeys(METHODS, 403),
    "history_of_nothing": dict.fromkeys(METHODS, 302),
    "object": dict.fromkeys(METHODS, 302),
}
ADMIN_FOR_OTHERS: dict[str, dict[str, int | str]] = {
    "login": {"GET": 200, "POST": 200, "PUT": 200, "PATCH": 405, "DELETE": 405},
    "logout": dict.fromkeys(METHODS, 302),
}


def _admin_cells() -> list[tuple[str, str]]:
    """(kind, path) for every admin route, with a real object wherever the route names one."""
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType

    from marketplace.models import Order

    site_views = {
        "admin:index": "index",
        "admin:login": "login",
        "admin:logout": "logout",
        "admin:password_change": "password_change",
        "admin:password_change_done": "password_change_done",
        "admin:autocomplete": "autocomplete",
        "admin:jsi18n": "jsi18n",
        "admin:view_on_site": "view_on_site",
        "admin:app_list": "app_list",
    }
    cells: list[tuple[str, str]] = []
    unknown: list[str] = []
    for route in all_routes():
        if not route.pattern.startswith("admin/"):
            continue
        pattern = route.pattern
        if route.name in site_views:
            kind = site_views[route.name]
            if kind == "app_list":
                cells.append((kind, "/admin/marketplace/"))
                continue
            if kind == "view_on_site":
                order_type = ContentType.objects.get_for_model(Order).pk
                cells.append((kind, f"/admin/r/{order_type}/{Order.objects.first().pk}/"))
                continue
            cells.append((kind, "/" + pattern))
            continue
        if pattern.startswith("admin/(?P<url>"):
            cells.append(("catch_all", "/admin/no-such-page/"))
            continue
        app_label, model_name = pattern.split("/")[1:3]
        model = apps.get_model(app_label, model_name)
        kind = (route.name or "object").rsplit("_", 1)[-1]
        if kind not in ("changelist", "add", "change", "delete", "history", "object"):
            unknown.append(route.name or pattern)
            continue
        # DRF's token admin names a token by its user's id.
        key = "user_id" if model._meta.model_name == "tokenproxy" else "pk"
        pk = model._default_manager.order_by(key).values_list(key, flat=True).first()
        if kind == "history" and pk is None:
            kind = "history_of_nothing"
        cells.append((kind, "/" + pattern.replace("<path:object_id>", str(pk or 0))))
    assert unknown == [], f"admin routes without a row in the access table: {unknown}"
    return cells


def _admin_methods(kind: str, persona: str) -> tuple[str, ...]:
    """Every method for staff and on the site-wide views. A model's admin views branch on POST
    and serve any other method as GET, and turn away everybody who is not staff before they look
    at the method: for those visitors GET and POST take every branch there is."""
    if persona == "staff_without_permission" or kind not in _MODEL_VIEWS:
        return METHODS
    return ("GET", "POST")


_MODEL_VIEWS = {"changelist", "add", "change", "delete", "history", "history_of_nothing", "object"}


@pytest.mark.slow
@pytest.mark.django_db
def test_every_admin_route_persona_and_method_answers_as_the_table_says(settings):
    settings.AXES_ENABLED = False
    started = time.perf_counter()
    world = build_world()
    admin_cells = _admin_cells()
    cells = Cells(world)
    for kind, path in admin_cells:
        for persona in PERSONAS:
            methods = _admin_methods(kind, persona)
            for method in methods:
                if persona == "staff_without_permission":
                    expected = ADMIN_FOR_STAFF_WITHOUT_PERMISSION[kind][method]
                else:
                    expected = ADMIN_FOR_OTHERS.get(kind, dict.fromkeys(METHODS, LOGIN))[method]
                if kind in ("login", "logout"):  # these end sessions: undo that for the next cell
                    response = cells.run(path, persona, method, None, api=False)
                else:
                    response = cells.run_refused(path, persona, method)
                cells.check(
                    f"{method} {path} as {persona}", response, expected, path, persona, True
                )
            cells.writes_since(f"{'/'.join(methods)} {path} as {persona}")
    tally = cells.tally
    tally.report("access matrix: Django admin", len(admin_cells), time.perf_counter() - started)
    assert (tally.mismatches, tally.leaks, tally.writes) == ([], [], [])
