"""Money in templates: ``{{ amount|rupiah }}`` → ``Rp 1.234.567``; ``{{ n|thousands }}`` → ``1.234``."""

from django import template

from core.money import format_rupiah, format_rupiah_sen, format_thousands

register = template.Library()
register.filter("rupiah", format_rupiah)
register.filter("thousands", format_thousands)
register.filter("rupiah_sen", format_rupiah_sen)
