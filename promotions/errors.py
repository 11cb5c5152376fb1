from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class CouponError(DomainError):
    status = 400


class CouponInvalid(CouponError):
    # One answer for "unknown" and "not yours", so codes cannot be probed.
    code = "coupon_invalid"
    default_detail = _("This code is not valid.")


class CouponNotStarted(CouponError):
    code = "coupon_not_started"
    default_detail = _("This code cannot be used yet.")


class CouponExpired(CouponError):
    code = "coupon_expired"
    default_detail = _("This code has expired.")


class CouponUsedUp(CouponError):
    code = "coupon_used_up"
    default_detail = _("This code has already been used.")


class CouponMinOrderNotMet(CouponError):
    code = "coupon_min_order_not_met"
    default_detail = _("The minimum order value for this code is not reached.")


class CouponCategoryNotEligible(CouponError):
    code = "coupon_category_not_eligible"
    default_detail = _("None of the items in the cart is eligible for this code.")


class CouponBudgetExhausted(CouponError):
    code = "coupon_budget_exhausted"
    default_detail = _("This promotion has ended: its budget is spent.")


class CampaignPaused(CouponError):
    code = "campaign_paused"
    default_detail = _("This promotion is paused.")


class CouponAttemptsExceeded(CouponError):
    code = "coupon_attempts_exceeded"
    status = 429
    default_detail = _("Too many invalid codes were entered; try again in an hour.")
