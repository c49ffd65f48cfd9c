from django.utils.functional import SimpleLazyObject

from .models import Membership

SESSION_KEY = "current_organization_id"


def _resolve(request):
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.filter(user=user).select_related("organization")
    wanted = request.session.get(SESSION_KEY)
    chosen = None
    if wanted:
        chosen = memberships.filter(organization_id=wanted).first()
    if chosen is None:
        chosen = memberships.order_by("created_at").first()
        if chosen is not None:
            request.session[SESSION_KEY] = str(chosen.organization_id)
    return chosen


class CurrentOrganizationMiddleware:
    """Sets ``request.membership`` and ``request.organization`` from the session (lazily)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = SimpleLazyObject(lambda: _resolve(request))
        request.membership = membership
        request.organization = SimpleLazyObject(
            lambda: membership.organization if membership else None  # noqa: B023
        )
        return self.get_response(request)
