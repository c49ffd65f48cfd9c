from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect


def organization_required(view=None, *, billing: bool = False):
    """Login, a current organization, and (with ``billing=True``) the owner or admin role."""

    def decorator(func):
        @login_required
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            membership = request.membership
            if not membership:
                return redirect("accounts:no_organization")
            if billing and not membership.can_manage_billing:
                raise PermissionDenied("Only owners and admins can manage billing.")
            return func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator
