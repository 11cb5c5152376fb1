from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from marketplace.models import User
from marketplace.selectors import seller_for_user


class SellerLoginForm(AuthenticationForm):
    """E-mail and password; only the owner of a seller account gets a dashboard session."""

    username = forms.EmailField(
        label=_("E-mail address"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The e-mail address or the password is not right."),
        "not_a_seller": _(
            "This account does not own a seller account, so it cannot use the seller dashboard. "
            "Sign in with your seller account, or contact support to start selling."
        ),
    }

    def confirm_login_allowed(self, user: User) -> None:  # type: ignore[override]
        super().confirm_login_allowed(user)
        # Deactivated or suspended sellers still get in: they must see why and what to do next.
        if seller_for_user(user) is None:
            raise forms.ValidationError(self.error_messages["not_a_seller"], code="not_a_seller")


def add_domain_error(form: forms.Form, error: DomainError) -> int:
    """Show a service's refusal on the form that asked for it; returns the status to answer with.

    A "not found" is a 404 page, never a form error: the seller asked for something that is not
    theirs (or no longer exists), and saying more would tell them what other sellers have.
    """
    if error.status == 404:
        raise Http404(error.detail) from error
    if not error.fields:
        form.add_error(None, error.detail)
    for field, problems in error.fields.items():
        for problem in problems if isinstance(problems, list) else [problems]:
            form.add_error(field if field in form.fields else None, str(problem))
    return error.status
