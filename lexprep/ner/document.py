"""The document pass: what one document says about its own names, applied to its mentions.

Runs after the extractors over the whole cleaned text of one document, with its mentions (already
one per span). It links mentions to the mention they stand for inside the same document, which is
what lets resolution merge across documents only on evidence:

1. **Caption parties** (court documents): the parties around the caption's "v." / "versus" with
   their roles from the role lines ("Plaintiff--Appellant", "Appellee (Defendant below)";
   petitioner and respondent on certiorari) become PERSON, ORG or GPE mentions carrying
   ``attrs["roles"]``.
2. **Definitions**: ``X ... ("Distributor")``, ``X (the "Company")``, ``hereinafter "Racing"``,
   ``Tarrant Regional Water District (Tarrant)``, ``("OWRB")``: the defined term is an alias of X in
   this document. Every later use of the term becomes a mention linked to X (``defined_term``), with
   X's label, in place of whatever the statistical model made of it.
3. **Role words**: "Plaintiff", "the Appellant", "Petitioner", "the State" link to the caption party
   with that role when exactly one party has it (``role``); role words with nothing to link to are
   not mentions (lexprep.ner.filters drops them).
4. **Short names**: a one-word PERSON links to the one full name in the document ending with it
   (``surname``); "Nichole M. Jagels" to "Nichole Marie Jagels" (``name_variant``); a one-word ORG (or
   a one-word mention the model mislabelled) to the one ORG whose first word it is (``short_name``);
   an acronym to the one ORG whose initials it is (``acronym``). A one-word PERSON with neither a
   full name nor an honorific ("Mr.", "Justice") is dropped; with an honorific and no full name it
   stays, resolved inside this document only (``scope="document"``).
5. **Bare court names** ("the District Court", "Supreme Court") link to the one full court name of
   that kind in the document; otherwise they are resolved inside the document only, so the Missouri
   and the United States Supreme Court never merge.

Input and output are :class:`lexprep.ner.merge.Span` lists plus per-span link information
(:class:`Linked`).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field

from lexprep.ner import filters
from lexprep.ner.merge import Span

ROLES = ("plaintiff", "defendant", "appellant", "appellee", "petitioner", "respondent")
_ROLE_LINE = re.compile(
    r"^(?:[\s,.;:)(\-–—]*(?:(?:cross|counter|third|party|below|and|&|et|al|real|in|interest|intervenor|"
    r"plaintiffs?|defendants?|appellants?|appellees?|petitioners?|respondents?|movants?|claimants?|debtors?)"
    r"\b[\s,.;:)(\-–—]*)+)$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^(?:v|vs|versus)\.?,?$", re.IGNORECASE)
_COLUMN_JUNK = re.compile(r"\s*[)}\]|]\s.*$|\s*[)}\]|]\s*$")
#: a party's role written after its name on the same line: ", Plaintiff-Appellant," / ", Defendants."
_ROLE_TAIL = re.compile(
    r",[ \t]*(?:(?:Cross|Counter|Third[- ]Party)[- ])?(?:Plaintiffs?|Defendants?|Appellants?|Appellees?|Petitioners?|"
    r"Respondents?|PLAINTIFFS?|DEFENDANTS?|APPELLANTS?|APPELLEES?|PETITIONERS?|RESPONDENTS?)"
    r"(?:[ \t]*[-–—/][ \t]*(?:Plaintiffs?|Defendants?|Appellants?|Appellees?|Petitioners?|Respondents?|PLAINTIFFS?|"
    r"DEFENDANTS?|APPELLANTS?|APPELLEES?|PETITIONERS?|RESPONDENTS?))*[ \t]*[,.]?[ \t]*$")
_PARTY_TAIL = re.compile(
    r"(?:,?\s+(?:et\s+al\.?|ET\s+AL\.?)|,\s+(?:a|an)\s+(?:[\w-]+\s+){0,3}(?:corporation|company|individual|partnership|"
    r"limited liability company|municipal corporation|political subdivision)\b.*|,\s+in\s+(?:his|her|their|its)\s+"
    r"(?:official|individual).*|\s+dba\s+.*|\s+d/b/a\s+.*|,\s*inclusive.*)$",
    re.IGNORECASE | re.DOTALL,
)
_DEFINITION = re.compile(
    r"\(\s*(?:(?:hereinafter|collectively|individually|together|each|jointly)[\s,]+(?:(?:referred\s+to\s+as|called|"
    r"the|a|an)\s+)*)?(?:the\s+|a\s+|an\s+)?[\"“”'](?:the\s+)?([A-Za-z][\w&.'’\- ]{0,40}?)[\"“”']\s*(?:or\s+[\"“”']([A-Z][\w&.'’\- ]{0,40}?)"
    r"[\"“”']\s*)?\)"
    r"|(?:hereinafter(?:\s+(?:referred\s+to\s+as|called))?|herein\s+called)\s+(?:the\s+)?[\"“”']([A-Z][\w&.'’\- ]{0,40}?)[\"“”']"
    r"|\(\s*(?:the\s+|or\s+)?([A-Z][A-Za-z&.\-]*(?:\s+[A-Z][A-Za-z&.\-]*){0,3})\s*\)",
)
_ALSO_KNOWN = re.compile(r"(?i)[\s,]*(?:(?:a|an)[ \t][^()\"“”\n]{0,80}?[ \t])?(?:d/?b/?a|doing\s+business\s+as|f/?k/?a|"
                         r"formerly\s+known\s+as|a/?k/?a|also\s+known\s+as|trading\s+as|t/a)\b[\s,:]*")
#: after a defined term that is an ordinary word, what makes it part of another name or a heading
_MODIFIER = re.compile(r"[ \t]*\n?[ \t]*(?<=\s)(?:(?-i:[A-Z][a-z]+)(?:['’]s|['’])?(?![\w'’])|of[ \t]+(?-i:[A-Z]))")
#: "Hernandez Roman, et al. v. Wolf": the first party's name of a case named in the text (not a caption line)
_CASE_FIRST_PARTY = re.compile(r"(?<![\w.])((?-i:[A-Z][\w'’-]+)(?:[ \t]+(?-i:[A-Z][\w'’-]+)){1,3}),?"
                               r"(?:[ \t]+(?:et|ET)[ \t]+(?:al|AL)\.,?)?[ \t]+(?:v|V|vs|VS)\.[ \t]+(?-i:[A-Z])")
#: what may stand between a party's name and its definition: "Ingram Micro, a corporation organized under ...,
#: having a place of business at ..., (" -- a description of the party, never a clause of the contract
_DESCRIPTOR = re.compile(
    r"[\s,]*(?:(?:(?:a|an|the)\s|having\s|with\s(?:its|a|an)\s|located\s|organized\s|incorporated\s|whose\s|its\s|"
    r"acting\s|doing\s|formerly\s|residing\s|of\s)[^\"“”()]*)?[\s,]*",
    re.IGNORECASE,
)
_NAME_PART_BEFORE = re.compile(r"(?<![.!?:;]\s)(?<!^)(?-i:[A-Z][a-z]+|[A-Z]{2,}[a-z]?)[ \t]+$")
#: "a Standard representative": the term used of the party's people or things (a noun after it), not "a Carrier in"
_ATTRIBUTIVE = re.compile(r"[ \t]+(?!(?:in|on|at|or|and|to|for|of|with|by|shall|may|will|must|is|was|that|which|who|under|"
                          r"from|as|if|has|had|whose)\b)[a-z]+")
#: "a NETGEAR Distributor", "an authorized distributor", "each such other Carrier": any one of a kind, not the party
_GENERIC_BEFORE = re.compile(r"(?<![\w'’])(?:a|an|any|another|other|each|every|no|authorized|approved)[ \t\n]+"
                             r"(?:(?-i:[A-Z][\w&-]*)[ \t]+)?$", re.IGNORECASE)
_PLURAL_DEF = re.compile(r"\b(?:collectively|together|each|jointly)\b", re.IGNORECASE)
_BARE_COURT = re.compile(r"^(?:(?:United\s+States|U\.\s?S\.)\s+)?(?:District|Bankruptcy|Supreme|Superior|Circuit|Appellate|"
                         r"Trial|Tax)?\s*Court(?:\s+of\s+Appeals?)?$", re.IGNORECASE)
_CAPTION_CATEGORIES = frozenset({"opinion", "order", "brief", "pleading", "transcript", "other"})


@dataclass(slots=True)
class Linked:
    """A span with what the document pass learned about it."""

    span: Span
    link: tuple[int, int] | None = None
    link_method: str | None = None
    scope: str = "matter"
    attrs: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------------ captions


def _role_set(line: str) -> list[str]:
    found = []
    for role in ROLES:
        if re.search(rf"\b{role}s?\b", line, re.IGNORECASE) and role not in found:
            found.append(role)
    return found


def party_label(name: str, ctx: filters.DocContext, start: int) -> str:
    """The label of a party's name at ``start`` (GPE for "State of X", ORG for an organisation, PERSON for
    a person's name, else ORG)."""
    if re.match(r"(?i)^(?:the\s+)?(?:state|commonwealth|people|government|republic)\s+of\b|^(?:the\s+)?united\s+states"
                r"(?:\s+of\s+america)?$", name):
        return "GPE"
    if filters._ORG_SUFFIX.search(name) or "&" in name or any(
            w.casefold().strip(".,'’") in filters._ORG_WORDS for w in name.split()):
        return "ORG"
    ok, support = filters.person_ok(name, ctx, start)
    if ok and not support and 2 <= len(name.split()) <= 5:
        return "PERSON"
    if len(name.split()) == 1 and name[:1].isupper() and not filters.is_english(name):
        return "PERSON"  # "HERRMANN ET AL.": a party named by surname
    return "ORG"


def caption_parties(text: str, ctx: filters.DocContext, limit: int = 5000) -> list[Linked]:
    """The parties of the document's first caption (see the module docstring), as Linked spans with
    ``attrs["roles"]`` (e.g. ``["plaintiff", "appellant"]``). [] when there is no caption."""
    head = text[:limit]
    lines: list[tuple[int, str]] = []
    junk_only: set[int] = set()  # lines that only held the caption's ")" column
    pos = 0
    for raw in head.split("\n"):
        cleaned = _COLUMN_JUNK.sub("", raw).strip()
        if not cleaned and raw.strip():
            junk_only.add(len(lines))
        lines.append((pos, cleaned))
        pos += len(raw) + 1
    sep = None
    for i, (_p, line) in enumerate(lines):
        if _SEPARATOR.match(line) and 0 < i < len(lines) - 1:
            sep = (i, None)
            break
        m = re.match(r"^(.*\S)\s+(?:v|vs|V|VS)\.?$", line)
        if m and filters._all_caps(m.group(1)) and len(m.group(1)) > 3 and i < len(lines) - 1:
            sep = (i, m.group(1))
            break
    if sep is None:
        return []
    i, inline = sep

    def block(indices) -> tuple[list[int], list[str]]:
        names: list[int] = []
        roles: list[str] = []
        for j in indices:
            line = lines[j][1]
            if j in junk_only:
                continue
            if not line or re.match(r"(?i)^(?:no\.|case|civil|criminal|cause|docket|appeal\s+from|on\s+appeal|"
                                    r"before|certiorari|in\s+the|filed|honorable|hon\.)", line):
                if names or roles:
                    break
                continue
            if filters.COURT_LINE.search(line):
                break
            if _ROLE_LINE.match(line) and _role_set(line):
                roles.extend(r for r in _role_set(line) if r not in roles)
                continue
            if roles and indices.step == 1:  # after: names come before their role line
                break
            names.append(j)
            if len(names) >= 4:
                break
        return names, roles

    after_names, after_roles = block(range(i + 1, min(len(lines), i + 9)))
    if inline is not None:
        before_names, before_roles = [i], []
    else:
        before = block(range(i - 1, max(-1, i - 9), -1))
        before_names, before_roles = sorted(before[0]), before[1]
    if not before_names or not after_names:
        return []
    if not before_roles and not after_roles and re.search(r"(?i)certiorari", head):
        before_roles, after_roles = ["petitioner"], ["respondent"]
    out: list[Linked] = []
    for idxs, roles in ((before_names, before_roles), (after_names, after_roles)):
        first, last = idxs[0], idxs[-1]
        start = lines[first][0]
        raw_end = lines[last][0] + len(text[lines[last][0]:].split("\n", 1)[0])
        if inline is not None and idxs == [i]:
            raw_end = start + len(text[start:].split("\n", 1)[0])
            region = text[start:raw_end]
            cut = re.search(r"\s+(?:v|vs|V|VS)\.?\s*$", region)
            raw_end = start + (cut.start() if cut else len(region))
        region = text[start:raw_end]
        region = re.sub(r"[ \t]*[)}\]|][^\n]*", lambda m: " " * len(m.group(0)), region)  # column junk -> spaces
        inline_roles: list[str] = []
        for part_match in re.finditer(r"[^;]+", region):
            part = part_match.group(0)
            role_tail = _ROLE_TAIL.search(part)  # "HARBORLINE LOGISTICS, INC., Plaintiff-Appellant,"
            if role_tail and role_tail.start() > 0:
                inline_roles += [r for r in _role_set(role_tail.group(0)) if r not in inline_roles]
                part = part[: role_tail.start()]
            tail = _PARTY_TAIL.search(part)
            if tail:
                part = part[: tail.start()]
            part = part.rstrip(" \t\r\n")
            tail = _PARTY_TAIL.search(part)
            if tail:
                part = part[: tail.start()]
            stripped = part.strip(" \t\r\n,.;:")
            if not stripped or re.match(r"(?i)^(?:and\s+)?does?\b", stripped) or len(stripped) < 3:
                continue
            p_start = start + part_match.start() + part.find(stripped)
            p_end = p_start + len(stripped)
            if text[p_end:p_end + 1] == "." and re.search(r"(?i)\b(?:inc|co|corp|ltd|l\.p|n\.a|jr|sr)$|\b[A-Z]$", stripped):
                p_end += 1  # "INC." keeps its period
            if "\n" in stripped and not re.search(r"[A-Za-z]", stripped.split("\n")[-1]):
                continue
            label = party_label(" ".join(stripped.split()), ctx, p_start)
            both = list(roles) + [r for r in inline_roles if r not in roles]
            out.append(Linked(Span(label, p_start, p_end, 1.0, "caption", "caption"), attrs={"roles": both}))
    return out


# -------------------------------------------------------------------------------------- definitions


def _initials(name: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z][\w'’-]*", name) if w.casefold() not in ("of", "the", "and", "for", "a")]
    return "".join(w[0] for w in words).upper()


def find_definitions(text: str, named: list[Linked]) -> list[tuple[str, Linked, int, int, str]]:
    """Defined terms and what they define: ``[(term, antecedent, def_start, def_end, evidence)]``.

    The antecedent is the first PERSON/ORG/GPE/LAW/COURT mention after the previous definition (or
    the start of the sentence or line) and before the definition, within 400 characters; for an
    unquoted parenthesis ("(Tarrant)", "(OWRB)") only a mention ending right before it whose words
    or initials hold the term.
    """
    by_start = sorted(named, key=lambda x: x.span.start)
    new_mentions: list[Linked] = []
    out = []
    prev_end = 0
    for m in _DEFINITION.finditer(text):
        quoted = m.group(1) or m.group(3)
        bare = m.group(4)
        terms = [t for t in (quoted, m.group(2)) if t] if quoted else []
        if _PLURAL_DEF.search(m.group(0)) and quoted:
            prev_end = m.end()
            continue
        d_start = m.start()
        if bare:
            cand = [x for x in by_start if x.span.end <= d_start and d_start - x.span.end <= 3
                    and x.span.label in ("ORG", "PERSON", "GPE", "LAW", "COURT")]
            if not cand:  # "Tarrant Regional Water District (Tarrant)" that the model did not read as a name
                phrase = _NAME_BEFORE.search(text, max(0, d_start - 120), d_start)
                b = bare.strip()
                if phrase and (b.casefold() in {w.casefold() for w in phrase.group(1).split()}
                               or b.replace(".", "").upper() == _initials(phrase.group(1))) and b != phrase.group(1) \
                        and (any(w.casefold().strip(".,'’") in filters._ORG_WORDS for w in phrase.group(1).split())
                             or not all(filters.is_english(w) for w in phrase.group(1).split()
                                        if w.casefold() not in ("of", "and", "the", "for"))):
                    name = phrase.group(1)
                    label = "ORG" if any(w.casefold().strip(".,'’") in filters._ORG_WORDS for w in name.split()) \
                        or b.isupper() else "PERSON"
                    made = Linked(Span(label, phrase.start(1), phrase.end(1), 1.0, "party", "definition"))
                    new_mentions.append(made)
                    by_start.append(made)
                    by_start.sort(key=lambda x: x.span.start)
                    cand = [made]
            if not cand:
                continue
            ante = cand[-1]
            name = text[ante.span.start:ante.span.end]
            words = {w.casefold() for w in re.findall(r"[\w'’-]+", name)}
            b = bare.strip()
            if not (b.casefold() in words or b.replace(".", "").upper() == _initials(name)
                    or all(w.casefold() in words for w in b.split())):
                continue
            if b == name:
                continue
            terms = [b]
        else:
            boundary = max(prev_end, _sentence_start(text, d_start), text.rfind("\n\n", 0, d_start) + 1, d_start - 400)
            cand = [x for x in by_start if boundary <= x.span.start and x.span.end <= d_start
                    and x.span.label in ("ORG", "PERSON", "GPE", "LAW", "COURT")]
            party = _PARTY_INTRO.search(text, boundary, d_start)
            if party and not any(x.span.start <= party.start(1) < x.span.end for x in cand):
                # "Ingram Micro, a corporation organized ...": the party the model did not find
                label = "PERSON" if re.search(r"(?i)individual|resident", party.group(2)) else "ORG"
                made = Linked(Span(label, party.start(1), party.end(1), 1.0, "party", "definition"))
                new_mentions.append(made)
                by_start.append(made)
                by_start.sort(key=lambda x: x.span.start)
                cand = sorted([made] + cand, key=lambda x: x.span.start)
            if not cand:
                prev_end = m.end()
                continue
            term0 = " ".join(terms[0].split())
            named_by = [x for x in cand if term0.replace(".", "").upper() == _initials(text[x.span.start:x.span.end])
                        or term0.casefold() in {w.casefold() for w in re.findall(r"[\w'’-]+", text[x.span.start:x.span.end])}]
            parties = [x for x in cand if x.span.label in ("ORG", "PERSON") and d_start - x.span.end <= 300]
            described = [x for x in parties if _DESCRIPTOR.fullmatch(text[x.span.end:d_start])]
            if named_by:
                ante = named_by[-1]
            elif term0.replace(".", "").isupper() or not described or not term0[:1].isupper():
                prev_end = m.end()
                continue  # an acronym that spells nothing before it; a term for a thing ("Retainer Fee")
            else:
                ante = described[0]
        evidence = " ".join(text[ante.span.start:m.end()].split())
        if len(evidence) > 240:
            evidence = evidence[:110] + " … " + evidence[-110:]
        for term in terms:
            term = " ".join(term.split())
            if term.casefold() in ("agreement", "contract", "effective date", "parties", "party"):
                continue
            out.append((term, ante, m.start(), m.end(), evidence))
        prev_end = m.end()
    named.extend(new_mentions)
    return out


#: two to seven capitalised words (of/and/the/for inside) right before a parenthesis, after any role word
_NAME_BEFORE = re.compile(
    r"(?:(?:Petitioners?|Respondents?|Plaintiffs?|Defendants?|Appellants?|Appellees?|the|The)[ \t]+)?"
    r"((?-i:[A-Z][\w&'’.-]*)(?:[ \t]+(?:(?-i:[A-Z][\w&'’.-]*)|of|and|the|for|&)){1,6})[ \t]*$"
)
#: "Ingram Micro, a corporation organized under ...", "John Doe, an individual residing at ...": a party
#: introduced by what it is (group 1: the name; group 2: what it is)
_PARTY_INTRO = re.compile(
    r"(?<![\w.])((?-i:[A-Z][\w&'’.-]*)(?:[ \t]+(?:(?-i:[A-Z][\w&'’.-]*)|of|and|&)){0,6}),?[ \t]+"
    r"((?:a|an)[ \t]+(?:[\w-]+[ \t]+){0,4}?(?:corporation|company|partnership|association|banking\s+association|"
    r"bank|trust|limited\s+liability|individual|resident|municipal|political\s+subdivision|entity))",
    re.IGNORECASE,
)


_ABBREV = re.compile(r"(?:\b[A-Z]|\b(?:St|No|Nos|Co|Inc|Corp|Ltd|Mr|Mrs|Ms|Dr|Jr|Sr|vs|v|U\.S|Stat|Ann|Supp|Cir|Cal|"
                     r"Tex|Fla|Okla|Mo|Pa|Va|Ill|Mass|Mich|Ga|Md|Wash|Ariz|Colo|Conn|Ind|Ky|La|Minn|Nev|Or|Tenn|Wis|Ave|Blvd|"
                     r"Rd|Dept|Gov|Ltd|etc|e\.g|i\.e|ex|art|sec|para|cl|ch|pt|vol|p|pp))$")


def _sentence_start(text: str, pos: int) -> int:
    """Where the sentence holding ``pos`` starts (after ". " not following an abbreviation), 0 if none
    within 400 characters."""
    i = pos
    lo = max(0, pos - 400)
    while True:
        i = text.rfind(". ", lo, i)
        if i < 0:
            return lo
        if not _ABBREV.search(text[max(0, i - 6):i]):
            return i + 2


# -------------------------------------------------------------------------------------------- the pass


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


class _Spans:
    """Spans to test others against for overlap in O(log n): sorted by start, with the running maximum of
    the ends (the spans may overlap one another)."""

    def __init__(self, spans):
        self.starts: list[int] = []
        self.max_end: list[int] = []
        for a, b in sorted(spans):
            self.starts.append(a)
            self.max_end.append(max(b, self.max_end[-1]) if self.max_end else b)

    def hit(self, span: tuple[int, int]) -> bool:
        """Whether ``span`` overlaps one of the spans (as :func:`_overlaps` says)."""
        i = bisect_left(self.starts, span[1])  # the spans starting before span's end
        return i > 0 and self.max_end[i - 1] > span[0]


def document_pass(text: str, spans: list[Span], ctx: filters.DocContext, category: str | None) -> list[Linked]:
    """Link, relabel, add and drop the document's mentions (module docstring).

    Args:
        text: the document's cleaned text.
        spans: its merged mentions, one per span (statistical ones already through lexprep.ner.filters;
            a one-word PERSON that needs support has ``normalized == "?support"``).
        ctx: the document context.
        category: the document's category (captions are read in court documents only).

    Returns:
        Linked mentions sorted by start, never overlapping.
    """
    items = [Linked(s) for s in spans]

    # 0. "Oklahoma" + "Water Resources Board": a place the model split off an organisation's name
    items.sort(key=lambda x: x.span.start)
    joined: list[Linked] = []
    for x in items:
        prev = joined[-1] if joined else None
        if prev is not None and prev.span.label == "GPE" and x.span.label == "ORG" and x.span.extractor == "spacy" \
                and text[prev.span.end:x.span.start] == " " and len(text[prev.span.start:prev.span.end].split()) <= 2:
            joined[-1] = Linked(x.span._replace(start=prev.span.start))
            continue
        joined.append(x)
    items = joined

    # 1. caption parties replace whatever overlaps them
    parties: list[Linked] = []
    if category in _CAPTION_CATEGORIES or category is None:
        parties = caption_parties(text, ctx)
        if parties:
            keep = []
            for x in items:
                if any(_overlaps((x.span.start, x.span.end), (p.span.start, p.span.end)) for p in parties) and \
                        x.span.label in ("PERSON", "ORG", "GPE", "OTHER", "DATE"):
                    continue
                keep.append(x)
            items = keep + parties

    # 2a. "X dba Y", "X f/k/a Y": Y is another name of X
    named = sorted((x for x in items if x.span.label in ("ORG", "PERSON") and x.link is None), key=lambda x: x.span.start)
    for a, b in zip(named, named[1:]):
        between = text[a.span.end:b.span.start]
        if len(between) <= 60 and _ALSO_KNOWN.fullmatch(between):
            b.link, b.link_method = (a.span.start, a.span.end), "also_known_as"
            b.span = b.span._replace(label=a.span.label)
            b.attrs["evidence"] = " ".join(text[a.span.start:b.span.end].split())

    # 2. definitions and the later uses of each defined term
    named = [x for x in items if x.span.label in ("PERSON", "ORG", "GPE", "LAW", "COURT")]
    definitions = find_definitions(text, named)
    made = [x for x in named if x.span.extractor == "definition" and x.span.source_label == "party"]
    if made:
        taken_made = _Spans((x.span.start, x.span.end) for x in made)
        items = [x for x in items if not taken_made.hit((x.span.start, x.span.end))] + made
    occupied = _Spans((x.span.start, x.span.end) for x in items if x.span.extractor != "spacy")
    added: list[Linked] = []
    seen_terms: dict[str, Linked] = {}
    for term, ante, d_start, d_end, evidence in definitions:
        key = term.casefold()
        if key in seen_terms and seen_terms[key] is not ante:
            continue  # one term, one meaning per document (the first definition)
        seen_terms[key] = ante
        target = (ante.span.start, ante.span.end)
        pattern = re.compile(rf"(?<![\w'’-]){re.escape(term)}(?![\w-])")
        ordinary = filters.is_english(term) or ctx.common(term)
        for occ in pattern.finditer(text):
            o = (occ.start(), occ.end())
            if _overlaps(o, target) or occupied.hit(o):
                continue
            if ordinary and (_MODIFIER.match(text, occ.end()) or _NAME_PART_BEFORE.search(text, max(0, occ.start() - 30),
                                                                                         occ.start())
                             or (_GENERIC_BEFORE.search(text, max(0, occ.start() - 40), occ.start())
                                 and not _ATTRIBUTIVE.match(text, occ.end()))):
                continue  # "Distributor Agreement", "Grace Community Chapel": the word in another name; "a Carrier"
            added.append(Linked(Span(ante.span.label, o[0], o[1], 1.0, "defined_term", "definition"), target,
                                "defined_term", attrs={"evidence": evidence}))
    if added:
        taken = _Spans((a.span.start, a.span.end) for a in added)
        items = [x for x in items if x.span.extractor != "spacy" or not taken.hit((x.span.start, x.span.end))] + added

    # 3. role words -> the caption party with that role
    role_party: dict[str, Linked] = {}
    for role in ROLES:
        having = [p for p in parties if role in p.attrs.get("roles", [])]
        if len(having) == 1:
            role_party[role] = having[0]
    state_parties = [p for p in parties if p.span.label == "GPE" and re.match(r"(?i)(?:the\s+)?(?:state|commonwealth)\b",
                                                                               text[p.span.start:p.span.end])]
    if role_party or len(state_parties) == 1:
        occupied = _Spans((x.span.start, x.span.end) for x in items if x.span.extractor != "spacy")
        role_re = re.compile(r"(?<![\w-])(Plaintiff|Defendant|Appellant|Appellee|Petitioner|Respondent|State|Commonwealth)"
                             r"(?![\w-])(?!\s+(?:of|below)\b)(?![ \t]+[A-Z][a-z])")
        roles_added = []
        for occ in role_re.finditer(text, parties[-1].span.end if parties else 0):
            word = occ.group(1).casefold()
            party = state_parties[0] if word in ("state", "commonwealth") and len(state_parties) == 1 \
                else role_party.get(word)
            if party is None:
                continue
            o = (occ.start(), occ.end())
            if occupied.hit(o):
                continue
            roles_added.append(Linked(Span(party.span.label, o[0], o[1], 1.0, "role", "definition"),
                                      (party.span.start, party.span.end), "role"))
        if roles_added:
            taken = _Spans((a.span.start, a.span.end) for a in roles_added)
            items = [x for x in items if x.span.extractor != "spacy" or not taken.hit((x.span.start, x.span.end))] + roles_added

    # 4. short names inside the document
    full_persons = [x for x in items if x.span.label == "PERSON" and x.link is None
                    and len(text[x.span.start:x.span.end].split()) >= 2]
    orgs = [x for x in items if x.span.label == "ORG" and x.link is None and len(text[x.span.start:x.span.end].split()) >= 2]
    out: list[Linked] = []
    for x in items:
        s = text[x.span.start:x.span.end]
        words = s.split()
        if x.link is not None or x.span.extractor in ("caption",):
            out.append(x)
            continue
        if x.span.label in ("PERSON", "ORG", "GPE", "OTHER") and len(words) == 1:
            w = words[0].strip(".,").casefold()
            if x.span.label == "PERSON" or x.span.normalized == "?support":
                hits = {(p.span.start, p.span.end) for p in full_persons
                        if _norm_words(text[p.span.start:p.span.end])[-1] == w}
                keys = {" ".join(text[a:b].casefold().split()) for a, b in hits}
                if len(keys) == 1:
                    first = min(hits)
                    x.link, x.link_method = first, "surname"
                    x.attrs["evidence"] = " ".join(text[first[0]:first[1]].split())
                    x.span = x.span._replace(normalized=None)
                    out.append(x)
                    continue
            if x.span.label in ("ORG", "GPE", "OTHER"):  # "Ennis" read as an ORG where "Brandon Ennis" testified
                hits = {(p.span.start, p.span.end) for p in full_persons if _norm_words(text[p.span.start:p.span.end])[-1] == w}
                keys = {" ".join(text[a:b].casefold().split()) for a, b in hits}
                if len(keys) == 1:
                    first = min(hits)
                    x.span = x.span._replace(label="PERSON", normalized=None)
                    x.link, x.link_method = first, "surname"
                    x.attrs["evidence"] = " ".join(text[first[0]:first[1]].split())
                    out.append(x)
                    continue
            caption_orgs = {(p.span.start, p.span.end) for p in parties if p.span.label == "ORG"}
            # a place's name ("Meridian", Idaho) is an organisation's short name only where a caption says so,
            # unless the model did not read it as a place ("Meridian" as NORP beside "Meridian Coastal Shipping Co.")
            place = x.span.label == "GPE" or (filters.gazetteer.is_known_place(words[0])
                                              and (x.span.source_label or "") in ("GPE", "LOC", "FAC", ""))
            if x.span.label != "PERSON":
                hits = {(o.span.start, o.span.end) for o in orgs if not place or (o.span.start, o.span.end) in caption_orgs}
                hits = {(a, b) for a, b in hits if text[a:b].split()[0].strip(".,").casefold() == w}
                keys = {" ".join(text[a:b].casefold().split()) for a, b in hits}
                method = "short_name"
                if not hits and words[0].isupper() and len(words[0]) >= 2:
                    hits = {(o.span.start, o.span.end) for o in orgs if _initials(text[o.span.start:o.span.end])
                            == words[0].replace(".", "").replace("&", "")}
                    keys = {" ".join(text[a:b].casefold().split()) for a, b in hits}
                    method = "acronym"
                if len(keys) == 1:
                    first = min(hits)
                    x.span = x.span._replace(label="ORG", normalized=None)
                    x.link, x.link_method = first, method
                    x.attrs["evidence"] = " ".join(text[first[0]:first[1]].split())
                    out.append(x)
                    continue
            if x.span.normalized == "?acronym":
                continue  # an acronym the document never spells out (not a well-known one)
            if x.span.normalized == "?support":
                if filters.honorific_before(text, x.span.start):
                    x.span = x.span._replace(normalized=None)
                    x.scope = "document"
                    out.append(x)
                continue  # a one-word "name" with nothing to support it
            if x.span.label == "PERSON":
                x.scope = "document"
        elif x.span.label == "PERSON" and 2 <= len(words) <= 3:  # "St. Pierre" in "Vanessa St. Pierre"
            mine = _norm_words(s)
            hits = {(p.span.start, p.span.end) for p in full_persons if (p.span.start, p.span.end) != (x.span.start, x.span.end)
                    and len(_norm_words(text[p.span.start:p.span.end])) > len(mine)
                    and _norm_words(text[p.span.start:p.span.end])[-len(mine):] == mine}
            keys = {" ".join(text[a:b].casefold().split()) for a, b in hits}
            if len(keys) == 1:
                x.link, x.link_method = min(hits), "surname"
                x.attrs["evidence"] = " ".join(text[min(hits)[0]:min(hits)[1]].split())
        elif x.span.label == "COURT" and _BARE_COURT.match(" ".join(words)):
            kind = " ".join(words).casefold().replace("court", "").replace("of appeals", "appeals").replace(
                "of appeal", "appeals").strip()
            fulls = {(c.span.start, c.span.end) for c in items if c.span.label == "COURT" and c is not x
                     and not _BARE_COURT.match(" ".join(text[c.span.start:c.span.end].split()))
                     and (not kind or kind.split()[0] in text[c.span.start:c.span.end].casefold())}
            keys = {" ".join(text[a:b].casefold().split()) for a, b in fulls}
            if len(keys) == 1:
                x.link, x.link_method = min(fulls), "short_name"
                x.attrs["evidence"] = " ".join(text[min(fulls)[0]:min(fulls)[1]].split())
            else:
                x.scope = "document"
        out.append(x)

    # name variants: "Nichole M. Jagels" -> "NICHOLE MARIE JAGELS" (same first and last word)
    persons = [x for x in out if x.span.label == "PERSON" and x.link is None
               and len(text[x.span.start:x.span.end].split()) >= 2]
    by_ends: dict[tuple[str, str], list[Linked]] = {}
    for p in persons:
        w = [t.strip(".,").casefold() for t in text[p.span.start:p.span.end].split()]
        by_ends.setdefault((w[0], w[-1]), []).append(p)
    for group in by_ends.values():
        forms = {" ".join(text[p.span.start:p.span.end].casefold().split()) for p in group}
        if len(forms) < 2:
            continue
        head = max(group, key=lambda p: (len(text[p.span.start:p.span.end].split()), -p.span.start))
        hw = [t.strip(".,").casefold() for t in text[head.span.start:head.span.end].split()]
        for p in group:
            pw = [t.strip(".,").casefold() for t in text[p.span.start:p.span.end].split()]
            if p is head or pw == hw:
                continue
            middle_ok = all(any(m[0] == h[0] for h in hw[1:-1]) for m in pw[1:-1])
            if middle_ok:
                p.link, p.link_method = (head.span.start, head.span.end), "name_variant"
                p.attrs["evidence"] = " ".join(text[head.span.start:head.span.end].split())

    # a name the model read as an organisation with nothing that says so stays only where the document
    # refers back to it (a definition, a short name, an acronym) or it refers to something itself
    targets = {x.link for x in out if x.link is not None}
    kept_out = []
    for x in out:
        if x.span.normalized == "?weak":
            if x.link is None and (x.span.start, x.span.end) not in targets:
                continue
            x.span = x.span._replace(normalized=None)
            if x.link is None and len(text[x.span.start:x.span.end].split()) in (2, 3) and _refers_as_person(text, x, out):
                x.span = x.span._replace(label="PERSON")  # "Brett Ogle ... Ogle's name, by virtue of his ability"
                for y in out:
                    if y.link == (x.span.start, x.span.end):
                        y.span = y.span._replace(label="PERSON")
        kept_out.append(x)
    out = kept_out

    # a case called by its first party ("a decision in Hernandez Roman", "Zepeda Rivas originated"): not the party
    firsts = list(_CASE_FIRST_PARTY.finditer(text))
    case_names = {" ".join(m.group(1).split()).casefold() for m in firsts}
    if case_names:
        out = [x for x in out if not (x.span.extractor == "spacy" and x.span.label in ("PERSON", "ORG")
                                      and len(text[x.span.start:x.span.end].split()) >= 2
                                      and " ".join(text[x.span.start:x.span.end].split()).casefold() in case_names)]
        # a piece of the first party's name ("HERNANDEZ" of "HERNANDEZ ROMAN, ET AL. V. WOLF")
        inside = [(m.start(1), m.end(1)) for m in firsts]
        out = [x for x in out if not (x.span.extractor == "spacy" and x.span.label in ("PERSON", "ORG", "GPE")
                                      and any(a <= x.span.start and x.span.end <= b and (a, b) != (x.span.start, x.span.end)
                                              for a, b in inside))]

    # one span, one mention; a link must point at a kept mention
    out.sort(key=lambda x: (x.span.start, -(x.span.end - x.span.start)))
    final: list[Linked] = []
    for x in out:
        if final and x.span.start < final[-1].span.end:
            continue
        final.append(x)
    kept = {(x.span.start, x.span.end) for x in final}
    result = []
    for x in final:
        if x.link is not None and x.link not in kept:
            x.link, x.link_method = None, None
            words = text[x.span.start:x.span.end].split()
            if len(words) == 1 and words[0].casefold().strip(".,") in filters.LEGAL_WORDS:
                continue  # a role word whose party is gone is no name
            if len(words) == 1 and x.span.extractor in ("definition", "spacy"):
                x.scope = "document"
        result.append(x)
    return result


_PERSONAL = re.compile(r"\b(?:he|his|him|himself|she|her|hers|herself)\b", re.IGNORECASE)
_IMPERSONAL = re.compile(r"\b(?:its|itself)\b", re.IGNORECASE)


def _refers_as_person(text: str, x: Linked, items: list[Linked]) -> bool:
    """Whether the sentences right after the name and the mentions linked to it speak of a person
    ("his ability") rather than of an organisation ("its offices")."""
    spans = [(x.span.start, x.span.end)] + [(y.span.start, y.span.end) for y in items
                                            if y.link == (x.span.start, x.span.end)]
    personal = impersonal = 0
    for _a, b in spans[:20]:
        after = text[b:b + 160]
        personal += len(_PERSONAL.findall(after))
        impersonal += len(_IMPERSONAL.findall(after))
    return personal >= 2 and personal > 2 * impersonal


def _norm_words(s: str) -> list[str]:
    return [w.strip(".,'’").casefold() for w in s.split() if w.strip(".,'’")] or [""]
