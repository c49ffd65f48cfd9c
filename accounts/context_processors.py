from .selectors import organizations_for


def organization(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    if not membership:
        return {"user_organizations": []}
    return {
        "current_organization": membership.organization,
        "current_membership": membership,
        "user_organizations": organizations_for(user),
    }
