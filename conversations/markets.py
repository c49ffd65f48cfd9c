"""Meta's pricing markets: the countries it prices alone and the regions it prices together.

Meta's rate cards list about two dozen countries by name and group every other country into a region
("Rest of Asia Pacific", ...) or "Other". The recipient's country comes from its number (``phonenumbers``);
this module maps it to the market key a ``RateCard`` carries: the ISO code for a country Meta prices alone,
a region key for the others, ``other`` for the rest. Source: Meta's "Pricing on the WhatsApp Business
Platform" page and its rate card files (the market column), see docs/whatsapp-rate-cards.md.
"""

from __future__ import annotations

import re

OTHER = "other"

# Countries Meta prices on their own, as its rate card names them.
COUNTRY_MARKETS: dict[str, str] = {
    "argentina": "AR",
    "brazil": "BR",
    "chile": "CL",
    "colombia": "CO",
    "egypt": "EG",
    "france": "FR",
    "germany": "DE",
    "india": "IN",
    "indonesia": "ID",
    "israel": "IL",
    "italy": "IT",
    "malaysia": "MY",
    "mexico": "MX",
    "netherlands": "NL",
    "nigeria": "NG",
    "pakistan": "PK",
    "peru": "PE",
    "russia": "RU",
    "saudi arabia": "SA",
    "south africa": "ZA",
    "spain": "ES",
    "turkey": "TR",
    "united arab emirates": "AE",
    "united kingdom": "GB",
}

# Meta's regions and the countries in them (Meta's published country-to-market mapping).
REGIONS: dict[str, tuple[str, set[str]]] = {
    "north_america": ("North America", {"US", "CA"}),
    "rest_of_africa": (
        "Rest of Africa",
        set(
            "DZ AO BJ BW BF BI CM TD CG CI DJ ER ET GA GM GH GW KE LS LR LY MG MW ML MR MA MZ NA NE RW SN SL SO SS "
            "SD SZ TZ TG TN UG ZM ZW CV CF KM CD GQ MU ST SC".split()
        ),
    ),
    "rest_of_asia_pacific": (
        "Rest of Asia Pacific",
        set("AF AU BD KH CN HK JP LA MN NP NZ PG PH SG LK TW TJ TH TM UZ VN MO MM BT BN FJ KG KZ MV".split()),
    ),
    "rest_of_central_eastern_europe": (
        "Rest of Central & Eastern Europe",
        set("AL AM AZ BY BG HR CZ GE HU LV LT MK MD PL RO RS SK SI UA EE BA ME XK".split()),
    ),
    "rest_of_latin_america": (
        "Rest of Latin America",
        set("BO CR DO EC SV GT HT HN JM NI PA PY PR UY VE BZ GY SR TT CU BS BB".split()),
    ),
    "rest_of_middle_east": ("Rest of Middle East", set("BH IQ JO KW LB OM QA YE PS SY IR".split())),
    "rest_of_western_europe": (
        "Rest of Western Europe",
        set("AT BE DK FI GR IE NO PT SE CH LU IS MT CY".split()),
    ),
}
_REGION_OF = {country: key for key, (_name, countries) in REGIONS.items() for country in countries}
_REGION_BY_NAME = {name.lower(): key for key, (name, _countries) in REGIONS.items()}


def market_group(country: str) -> str:
    """The Meta region a country is priced in, ``""`` when it is in none (then "other" applies)."""
    return _REGION_OF.get(country, "")


def market_key_for_name(name: str) -> str | None:
    """Meta's market name as its rate card writes it ("Indonesia", "Rest of Asia Pacific", "Other") or an ISO
    code → the key a rate card is stored under; ``None`` when unknown."""
    cleaned = re.sub(r"\s+", " ", (name or "").strip()).lower()
    if not cleaned:
        return None
    if cleaned == OTHER:
        return OTHER
    if cleaned in COUNTRY_MARKETS:
        return COUNTRY_MARKETS[cleaned]
    if cleaned in _REGION_BY_NAME:
        return _REGION_BY_NAME[cleaned]
    if cleaned.replace(" and ", " & ") in _REGION_BY_NAME:
        return _REGION_BY_NAME[cleaned.replace(" and ", " & ")]
    if cleaned in REGIONS:
        return cleaned
    if re.fullmatch(r"[a-z]{2}", cleaned):
        return cleaned.upper()
    return None


# Meta's volume tier webhook names the region in capitals ("INDIA"): the same names.
def market_key_for_region(region: str) -> str:
    return market_key_for_name(region.replace("_", " ")) or (region or "")[:16]
