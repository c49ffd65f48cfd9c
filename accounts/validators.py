from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# The invoice PDF prints the whole address (its buyer block grows with it); these bounds keep it an address.
ADDRESS_MAX_LINES = 6
ADDRESS_MAX_CHARS = 500


def validate_billing_address(value: str) -> None:
    """A billing address has at most 6 lines and 500 characters; the invoice prints all of it."""
    lines = [line for line in value.splitlines() if line.strip()]
    if len(lines) > ADDRESS_MAX_LINES or len(value) > ADDRESS_MAX_CHARS:
        raise ValidationError(
            _("Keep the address to %(lines)d lines and %(chars)d characters.")
            % {"lines": ADDRESS_MAX_LINES, "chars": ADDRESS_MAX_CHARS}
        )
