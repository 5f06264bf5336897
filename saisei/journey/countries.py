"""Countries families come from, and the currency each one pays in (a data table, not code).

Codes are ISO 3166-1 alpha-2; currencies are ISO 4217 alphabetic codes. ``names`` lists the
spellings a family may type in the inquiry form's free-text country field (English, Japanese,
Chinese), compared without case or surrounding spaces. A country not in the table has no
default currency: the coordinator chooses one, nothing is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Country:
    code: str
    label: object
    currency: str
    names: tuple[str, ...]


COUNTRIES: tuple[Country, ...] = (
    Country("JP", _("Japan"), "JPY", ("japan", "日本")),
    Country(
        "CN", _("China"), "CNY", ("china", "中国", "中國", "people's republic of china", "prc")
    ),
    Country("HK", _("Hong Kong"), "HKD", ("hong kong", "香港")),
    Country("TW", _("Taiwan"), "TWD", ("taiwan", "台湾", "台灣", "臺灣")),
    Country(
        "KR",
        _("South Korea"),
        "KRW",
        ("south korea", "korea", "republic of korea", "韓国", "韩国", "대한민국", "한국"),
    ),
    Country("SG", _("Singapore"), "SGD", ("singapore", "シンガポール", "新加坡")),
    Country("TH", _("Thailand"), "THB", ("thailand", "タイ", "泰国")),
    Country("VN", _("Vietnam"), "VND", ("vietnam", "viet nam", "ベトナム", "越南")),
    Country("MY", _("Malaysia"), "MYR", ("malaysia", "マレーシア", "马来西亚")),
    Country("ID", _("Indonesia"), "IDR", ("indonesia", "インドネシア", "印度尼西亚")),
    Country("PH", _("Philippines"), "PHP", ("philippines", "フィリピン", "菲律宾")),
    Country(
        "US",
        _("United States"),
        "USD",
        ("united states", "usa", "us", "america", "アメリカ", "美国"),
    ),
    Country("CA", _("Canada"), "CAD", ("canada", "カナダ", "加拿大")),
    Country(
        "GB", _("United Kingdom"), "GBP", ("united kingdom", "uk", "england", "イギリス", "英国")
    ),
    Country("AU", _("Australia"), "AUD", ("australia", "オーストラリア", "澳大利亚")),
    Country("DE", _("Germany"), "EUR", ("germany", "ドイツ", "德国")),
    Country("FR", _("France"), "EUR", ("france", "フランス", "法国")),
    Country("CH", _("Switzerland"), "CHF", ("switzerland", "スイス", "瑞士")),
    Country(
        "AE",
        _("United Arab Emirates"),
        "AED",
        ("united arab emirates", "uae", "アラブ首長国連邦", "阿联酋"),
    ),
    Country("RU", _("Russia"), "RUB", ("russia", "ロシア", "俄罗斯")),
)

_BY_KEY = {key: c for c in COUNTRIES for key in (c.code.lower(), *c.names)}


def country_lookup(text: str) -> Country | None:
    """The table row a typed country or an ISO code names, or None (never a near match)."""
    return _BY_KEY.get((text or "").strip().lower())


def currency_for_country(text: str) -> str:
    """The ISO 4217 currency of a country, or "" when the table does not know the country."""
    country = country_lookup(text)
    return country.currency if country else ""
