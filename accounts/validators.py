from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ADDRESS_MAX_LINES = 4
ADDRESS_MAX_CHARS = 200


def validate_billing_address(value: str) -> None:
    """A billing address must fit the buyer block of an A4 invoice: at most 4 lines and 200 characters."""
    lines = [line for line in value.splitlines() if line.strip()]
    if len(lines) > ADDRESS_MAX_LINES or len(value) > ADDRESS_MAX_CHARS:
        raise ValidationError(
            _("Keep the address to %(lines)d lines and %(chars)d characters so it fits on the invoice.")
            % {"lines": ADDRESS_MAX_LINES, "chars": ADDRESS_MAX_CHARS}
        )
