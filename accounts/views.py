import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import selectors, services
from .decorators import organization_required
from .forms import ApiKeyForm, BillingDetailsForm, InvitationForm, LanguageForm, SignupForm
from .middleware import SESSION_KEY
from .models import ApiKey, Invitation, Membership


class LoginView(auth_views.LoginView):
    """Django's login, then the pages speak the user's language (their preference, set at sign-up)."""

    def form_valid(self, form):
        response = super().form_valid(form)
        language = form.get_user().language
        if language:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
        return response


def signup(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user, org = services.user_signup(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            full_name=form.cleaned_data["full_name"],
            organization_name=form.cleaned_data["organization_name"],
            language=translation.get_language_from_request(request),
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session[SESSION_KEY] = str(org.pk)
        messages.success(request, _("Welcome to Saldo! Your organization %(org)s is ready.") % {"org": org.name})
        return redirect("dashboard")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def no_organization(request):
    if request.membership:
        return redirect("dashboard")
    return render(request, "accounts/no_organization.html")


@require_POST
@login_required
def switch_organization(request):
    org_id = request.POST.get("organization", "")
    if not _is_uuid(org_id) or not selectors.organizations_for(request.user).filter(pk=org_id).exists():
        raise Http404
    request.session[SESSION_KEY] = org_id
    next_url = request.POST.get("next") or reverse("dashboard")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = reverse("dashboard")
    return redirect(next_url)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError):
        return False
    return True


@organization_required
def settings_page(request):
    org = request.organization
    can_manage = request.membership.can_manage_billing
    billing_form = BillingDetailsForm(instance=org, prefix="billing")
    invite_form = InvitationForm(prefix="invite")
    key_form = ApiKeyForm(prefix="key")
    language_form = LanguageForm(instance=request.user, prefix="lang")
    new_key = None

    if request.method == "POST" and request.POST.get("action") == "language":
        # Everyone chooses their own language, whatever their role.
        language_form = LanguageForm(request.POST, instance=request.user, prefix="lang")
        if language_form.is_valid():
            language = language_form.cleaned_data["language"]
            services.user_set_language(user=request.user, language=language)
            translation.activate(language)
            messages.success(request, _("Language saved."))
            response = redirect("settings")
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
            return response
    elif request.method == "POST":
        if not can_manage:
            messages.error(request, _("Only owners and admins can change settings."))
            return redirect("settings")
        action = request.POST.get("action")
        if action == "billing":
            billing_form = BillingDetailsForm(request.POST, instance=org, prefix="billing")
            if billing_form.is_valid():
                services.organization_update_billing(organization=org, **billing_form.cleaned_data)
                messages.success(request, _("Billing details saved."))
                return redirect("settings")
        elif action == "invite":
            invite_form = InvitationForm(request.POST, prefix="invite")
            if invite_form.is_valid():
                role = invite_form.cleaned_data["role"]
                if role == Membership.Role.OWNER and request.membership.role != Membership.Role.OWNER:
                    invite_form.add_error("role", _("Only an owner can invite another owner."))
                else:
                    try:
                        services.invitation_create(
                            organization=org,
                            email=invite_form.cleaned_data["email"],
                            role=role,
                            invited_by=request.user,
                        )
                    except services.InvitationError as exc:
                        invite_form.add_error("email", str(exc))
                    else:
                        messages.success(request, _("Invitation sent to %(email)s.") % invite_form.cleaned_data)
                        return redirect("settings")
        elif action == "create_key":
            key_form = ApiKeyForm(request.POST, prefix="key")
            if key_form.is_valid():
                _key, new_key = services.api_key_create(
                    organization=org, name=key_form.cleaned_data["name"], created_by=request.user
                )
                messages.success(request, _("API key created. Copy it now: it will not be shown again."))
                key_form = ApiKeyForm(prefix="key")
        elif action == "revoke_key":
            key = selectors.get_for_organization(ApiKey.objects.all(), org, pk=request.POST.get("key_id"))
            services.api_key_revoke(api_key=key, actor=request.user)
            messages.success(request, _("API key %(prefix)s… revoked.") % {"prefix": key.prefix})
            return redirect("settings")
        elif action == "cancel_invite":
            invitation = selectors.get_for_organization(
                Invitation.objects.filter(accepted_at__isnull=True), org, pk=request.POST.get("invitation_id")
            )
            services.invitation_cancel(invitation=invitation, actor=request.user)
            messages.success(request, _("Invitation cancelled."))
            return redirect("settings")
        elif action == "remove_member":
            membership = selectors.get_for_organization(
                Membership.objects.all(), org, pk=request.POST.get("membership_id")
            )
            try:
                services.membership_remove(membership=membership, actor=request.user)
            except ValueError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("%(email)s removed.") % {"email": membership.user.email})
            return redirect("settings")

    elif request.GET.get("confirm") and can_manage:
        confirmation = _settings_confirmation(request, org)
        if confirmation is not None:
            return render(request, "confirm.html", confirmation)

    return render(
        request,
        "accounts/settings.html",
        {
            "billing_form": billing_form,
            "invite_form": invite_form,
            "key_form": key_form,
            "language_form": language_form,
            "new_key": new_key,
            "members": selectors.members_for(org),
            "invitations": org.invitations.filter(accepted_at__isnull=True).order_by("-created_at"),
            "api_keys": selectors.api_keys_for(org),
            "can_manage": can_manage,
        },
    )


def _settings_confirmation(request, org) -> dict | None:
    """The confirmation step of a destructive settings action (works without JavaScript): the Revoke and
    Remove buttons open this page, whose form POSTs the action itself."""
    action = request.GET.get("confirm")
    back = reverse("settings")
    if action == "revoke_key":
        key = selectors.get_for_organization(
            ApiKey.objects.filter(revoked_at__isnull=True), org, pk=request.GET.get("key_id")
        )
        return {
            "title": _("Revoke API key"),
            "question": _("Revoke the API key %(name)s (%(prefix)s…)?") % {"name": key.name, "prefix": key.prefix},
            "detail": _("Calls with this key are refused at once. This cannot be undone: create a new key instead."),
            "action_url": back,
            "fields": {"action": "revoke_key", "key_id": key.pk},
            "confirm_label": _("Revoke key"),
            "cancel_url": back,
        }
    if action == "remove_member":
        membership = selectors.get_for_organization(
            Membership.objects.select_related("user"), org, pk=request.GET.get("membership_id")
        )
        return {
            "title": _("Remove member"),
            "question": _("Remove %(email)s from %(org)s?") % {"email": membership.user.email, "org": org.name},
            "detail": _("They lose access to this organization at once. You can invite them again later."),
            "action_url": back,
            "fields": {"action": "remove_member", "membership_id": membership.pk},
            "confirm_label": _("Remove member"),
            "cancel_url": back,
        }
    return None


def invitation_accept(request, token):
    invitation = get_object_or_404(
        Invitation.objects.select_related("organization"), token=token, accepted_at__isnull=True
    )
    if not request.user.is_authenticated:
        messages.info(
            request,
            _("Log in or sign up with %(email)s to join %(org)s.")
            % {"email": invitation.email, "org": invitation.organization.name},
        )
        return redirect(f"{reverse('accounts:login')}?next={request.path}")
    if request.user.email.lower() != invitation.email.lower():
        messages.error(request, _("This invitation was sent to %(email)s.") % {"email": invitation.email})
        return redirect("dashboard")
    if request.method == "POST":
        services.invitation_accept(invitation=invitation, user=request.user)
        request.session[SESSION_KEY] = str(invitation.organization_id)
        messages.success(request, _("You joined %(org)s.") % {"org": invitation.organization.name})
        return redirect("dashboard")
    return render(request, "accounts/invitation_accept.html", {"invitation": invitation})
