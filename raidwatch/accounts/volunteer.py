"""Who counts as signed in to the volunteer area (SECURITY.md R9, R10).

Signed in means: an active volunteer whose session used a second factor
(TOTP, a security key or passkey, or a recovery code), as shown by allauth's
authentication records. A session that only ever saw the password is not
signed in; its volunteer may only enrol a second factor, and only while they
have none. A volunteer who has a second factor but a password-only session
(which allauth's own sign-in never produces) is signed out.

Two layers apply this: ``VolunteerAreaMiddleware`` refuses every URL under
/<lang>/volunteer/ whether or not its view remembered to, and the
``volunteer_required`` / ``require_action`` decorators guard views anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper, wraps
from typing import Any, Concatenate

from allauth.account.adapter import get_adapter
from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.login import record_authentication
from allauth.account.internal.flows.reauthentication import is_reauthentication_required
from allauth.account.signals import password_changed
from allauth.core.exceptions import ReauthenticationRequired
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.deprecation import MiddlewareMixin
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from raidwatch.accounts import audit
from raidwatch.accounts.adapter import PRIMARY_FACTOR_TYPES, MFAAdapter
from raidwatch.accounts.models import Volunteer
from raidwatch.accounts.roles import may

type View[**P] = Callable[Concatenate[HttpRequest, P], HttpResponseBase]
type AnyView = Callable[..., HttpResponseBase]

AREA = "volunteer"

# allauth pages someone who is not signed in may see: the two sign-in steps
# (password, then second factor), passkey sign-in, and signing out.
OPEN_PAGES = frozenset(
    {"account_login", "account_logout", "account_inactive", "mfa_authenticate", "mfa_login_webauthn"}
)
# What a password-only session may do, and only while its volunteer has no
# second factor: choose one and set it up (allauth asks for the password once
# more just before a factor is added).
ENROLMENT_PAGES = frozenset({"mfa_index", "mfa_activate_totp", "mfa_add_webauthn", "account_reauthenticate"})
# The allauth pages that exist here at all. Sign-up, email addresses, password
# reset by email and sign-in codes have no place in a model without email
# addresses and without sign-up; they answer 404 (allauth keeps their URL names
# because its own templates reverse them).
ALLAUTH_PAGES = (
    OPEN_PAGES
    | ENROLMENT_PAGES
    | frozenset(
        {
            "account_change_password",
            "mfa_reauthenticate",
            "mfa_deactivate_totp",
            "mfa_view_recovery_codes",
            "mfa_generate_recovery_codes",
            "mfa_download_recovery_codes",
            "mfa_list_webauthn",
            "mfa_reauthenticate_webauthn",
            "mfa_remove_webauthn",
            "mfa_edit_webauthn",
        }
    )
)


def in_volunteer_area(path: str) -> bool:
    """Whether a path is under /<lang>/volunteer/ (or, should anything ever be
    mounted there, an unprefixed /volunteer/)."""
    parts = path.split("/")
    if len(parts) > 1 and parts[1] == AREA:
        return True
    languages = {code for code, _name in settings.LANGUAGES}
    return len(parts) > 2 and parts[1] in languages and parts[2] == AREA


def used_second_factor(request: HttpRequest) -> bool:
    """Whether this session's volunteer completed a second factor in it."""
    if not request.user.is_authenticated:
        return False
    records: list[dict[str, object]] = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def has_second_factor(volunteer: Volunteer) -> bool:
    return bool(Authenticator.objects.filter(user_id=volunteer.pk, type__in=PRIMARY_FACTOR_TYPES).exists())


def refusal(request: HttpRequest, page: str | None = None) -> HttpResponseBase | None:
    """None when the request may go on, else the response that turns it away.

    ``page`` is the allauth URL name being asked for, or None for any other view.
    """
    if page in OPEN_PAGES:
        return None
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("account_login"))
    if used_second_factor(request):
        return None
    assert isinstance(request.user, Volunteer)  # noqa: S101 - narrowing for the type checker
    if has_second_factor(request.user):
        # Signed in on the password alone although a second factor exists: not
        # signed in at all. Signing out (rather than redirecting to the sign-in
        # page, which sends signed-in users onwards) makes them start again.
        logout(request)
        return redirect_to_login(request.get_full_path(), reverse("account_login"))
    if page in ENROLMENT_PAGES:
        return None
    return HttpResponseRedirect(reverse("mfa_index"))


def forbidden(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "volunteer/forbidden.html", {"reason": reason}, status=403)


def volunteer_required[**P](view: View[P]) -> View[P]:
    """Only a volunteer signed in with a second factor gets through."""

    def guarded(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        return refusal(request) or view(request, *args, **kwargs)

    return update_wrapper(guarded, view)


def ask_to_reauthenticate(request: HttpRequest) -> HttpResponseRedirect:
    """Send the volunteer to confirm their password (or a second factor) and
    then back to this page, by GET.

    allauth would resume a POST after the check by keeping the whole request
    in the session, and that copy includes REMOTE_ADDR, the forwarding
    headers and the user agent (R1). Instead the form is simply lost: pages
    that need a fresh sign-in show a confirmation on GET, and the volunteer
    confirms once more after the check.
    """
    methods = get_adapter().get_reauthentication_methods(request.user)
    target = methods[0]["url"] if methods else reverse("account_login")
    back = request.get_full_path() if request.method in ("GET", "HEAD") else request.path
    return HttpResponseRedirect(f"{target}?{urlencode({REDIRECT_FIELD_NAME: back})}")


def require_action(action: str, *, reauthenticate: bool = False) -> Callable[[AnyView], AnyView]:
    """``volunteer_required``, and the volunteer's role must allow ``action``
    (403 otherwise). With ``reauthenticate`` (role changes, offboarding,
    exports), the request also needs a password or second-factor check within
    ACCOUNT_REAUTHENTICATION_TIMEOUT; without one the volunteer is asked for
    it and comes back to the page by GET (``ask_to_reauthenticate``), so such
    a view shows a confirmation on GET and acts on POST."""

    def decorate(view: AnyView) -> AnyView:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            refused = refusal(request)
            if refused is not None:
                return refused
            assert isinstance(request.user, Volunteer)  # noqa: S101 - narrowing for the type checker
            if not may(request.user, action):
                return forbidden(request)
            if reauthenticate and is_reauthentication_required(request, app=""):
                return ask_to_reauthenticate(request)
            return view(request, *args, **kwargs)

        return guarded

    return decorate


class VolunteerAreaMiddleware(MiddlewareMixin):
    """Refuses anonymous and password-only sessions everywhere under
    /<lang>/volunteer/, so a view that forgets ``volunteer_required`` is still
    guarded. Runs as a view middleware: by then the URL is resolved, so
    allauth's pages are told apart by name, not by path."""

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if not in_volunteer_area(request.path_info):
            return None
        # Activity in the volunteer area keeps the session alive (the idle
        # timeout, R9); an empty session is not saved, so visitors get none.
        request.session.modified = True
        match = request.resolver_match
        page = match.url_name if match is not None else None
        if getattr(view_func, "__module__", "").startswith("allauth."):
            if page not in ALLAUTH_PAGES:
                raise Http404
        else:
            page = None
        refused = refusal(request, page)
        if refused is not None:
            return refused
        if page == "mfa_remove_webauthn" and request.method == "POST":
            return _keep_last_key(request, view_kwargs)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponseBase | None:
        """allauth's own pages (adding or removing a factor) ask for a fresh
        sign-in by raising ReauthenticationRequired; its middleware would then
        keep a POST, client address and user agent included, in the session.
        This middleware sits after allauth's, so it sees the exception first
        and asks without keeping anything (``ask_to_reauthenticate``)."""
        if isinstance(exception, ReauthenticationRequired) and request.user.is_authenticated:
            return ask_to_reauthenticate(request)
        return None


def _keep_last_key(request: HttpRequest, view_kwargs: dict[str, Any]) -> HttpResponseBase | None:
    """allauth checks the adapter before deactivating TOTP but not before
    removing a security key; without this the last factor could go."""
    key = Authenticator.objects.filter(
        pk=view_kwargs.get("pk"), user_id=request.user.pk, type=Authenticator.Type.WEBAUTHN
    ).first()
    if key is None or MFAAdapter().can_delete_authenticator(key):
        return None
    return forbidden(
        request, _("Two factors are required: add another authenticator app or security key first.")
    )


@receiver(authenticator_added, dispatch_uid="raidwatch.accounts.enrolment_counts_as_second_factor")
def _enrolment_counts_as_second_factor(
    sender: object, request: HttpRequest, user: Volunteer, authenticator: Authenticator, **kwargs: object
) -> None:
    """Setting up an app or key proves possession of it (a valid code, or a
    signed WebAuthn challenge), so the enrolling session counts as having used
    a second factor; otherwise a new volunteer would be signed out right after
    enrolling. Connected here because this module is loaded with the
    middleware, before any request can add an authenticator."""
    if authenticator.type in PRIMARY_FACTOR_TYPES:
        record_authentication(
            request, user, "mfa", id=authenticator.pk, type=authenticator.type, enrolled=True
        )


# Changes to how a volunteer signs in are security events a coordinator should
# be able to see afterwards ("a key was added to my account at 03:00"), so
# they go into the audit log (R11): what changed, never from where.


@receiver(authenticator_added, dispatch_uid="raidwatch.accounts.audit_authenticator_added")
def _audit_authenticator_added(
    sender: object, request: HttpRequest, user: Volunteer, authenticator: Authenticator, **kwargs: object
) -> None:
    with transaction.atomic():
        audit.record(user.username, "volunteer.add_factor", "volunteer", user.pk, type=authenticator.type)


@receiver(authenticator_removed, dispatch_uid="raidwatch.accounts.audit_authenticator_removed")
def _audit_authenticator_removed(
    sender: object, request: HttpRequest, user: Volunteer, authenticator: Authenticator, **kwargs: object
) -> None:
    with transaction.atomic():
        audit.record(user.username, "volunteer.remove_factor", "volunteer", user.pk, type=authenticator.type)


@receiver(password_changed, dispatch_uid="raidwatch.accounts.audit_password_changed")
def _audit_password_changed(sender: object, request: HttpRequest, user: Volunteer, **kwargs: object) -> None:
    with transaction.atomic():
        audit.record(user.username, "volunteer.change_password", "volunteer", user.pk)
