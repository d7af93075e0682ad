"""Entity resolution: a matter's mentions -> canonical entities, with an audit of every merge.

``resolve(mentions, settings, matter) -> Resolution``. Merging across documents needs evidence:

1. **In-document links** (made by lexprep.ner.document and lexprep.ner.citations): a defined term,
   a role word, a surname, a short name, an acronym, "Id.", "supra" or a short cite joins the
   entity of the mention it stands for in its own document (method = the link's method, evidence =
   the definition or the full name). A bare "Distributor" or "Miller" therefore never meets the
   "Distributor" or "Miller" of another document except through the full names they stand for.
2. **Exact**: unlinked mentions with the same (label, normalised key) form one entity across the
   matter (lexprep.resolve.keys); CASE and LAW mentions are keyed by their citation (method
   ``citation``). Mentions of *document scope* (a surname known only with an honorific, a bare
   "Supreme Court" with no full court name in its document) are keyed within their document only.
3. **Parallel citations**: CASE entities whose citations were cited together as parallel citations
   of one case are one entity (method ``parallel``), across documents.
4. **Fuzzy** (labels in ``settings.fuzzy_labels``, matter-scope names of two or more words): groups
   taken in a fixed order (most mentions first) join the best cluster in their block whose
   representative scores ``rapidfuzz.fuzz.token_sort_ratio >= settings.fuzzy_threshold``, compared
   with representatives only (no chains); refused when the keys differ in a number, a distinguishing
   word (ordinals, directions, Jr/Sr/II) or, for PERSON, the first initial. Blocking by the first two
   characters of the sorted tokens keeps it near-linear.

5. **LLM-assisted** (optional, ``judge``; the cloud profile's default): pairs the rules left apart are
   judged by an LLM and merged with method ``llm`` (lexprep.resolve.llm).
6. **Overrides** (``overrides``): a person's splits and merges, replayed in the order they were made, last,
   so that they always win (lexprep.resolve.overrides; stored by lexprep.store.overrides).

There is no surname or acronym merge across documents: those are in-document links (step 1).

Canonical name: CASE: "Case Name, volume reporter page (court year)" without pin cite, from the
best-described mention; others: the most frequent full surface form, preferring forms not in
capitals, and a name only seen in capitals title-cased ("TARRANT REGIONAL WATER DISTRICT" ->
"Tarrant Regional Water District"). Entity id = ``stable_id(matter, label, key)`` (plus the document
for a document-scoped entity), so a re-run gives the same ids.

Output is sorted and independent of input order.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from lexprep.models import Entity, MergeRecord, stable_id
from lexprep.resolve.keys import citation_key, mention_key
from lexprep.resolve.names import DISPLAY_LABELS, display_name, is_id_form, preferred_surface, surface_of

__all__ = ["MentionRef", "Resolution", "resolve", "mention_key", "canonical_case_name", "display_name"]


@dataclass(frozen=True, slots=True)
class MentionRef:
    """What resolution needs of a mention.

    Attributes:
        id: the mention's id (unique in the call).
        label: a Label value.
        text: the surface text.
        normalized: the extractor's canonical form (a citation without pin cite, a docket number) or None.
        document_id: the mention's document ("" when unknown: then everything is one document).
        link_id: the id of the mention (same document) this one stands for, or None.
        link_method: how that link was made.
        scope: ``matter`` or ``document``.
        attrs: the mention's extra facts (CASE ``case_name``, ``parenthetical``, ``parallel``; ``evidence``).
    """

    id: str
    label: str
    text: str
    normalized: str | None = None
    document_id: str = ""
    link_id: str | None = None
    link_method: str | None = None
    scope: str | None = None
    attrs: dict | None = None


@dataclass(slots=True)
class Resolution:
    """Entities, which entity each mention resolved to, and the merge log.

    Attributes:
        entities: sorted by (label, name, id).
        assignments: mention id -> entity id, for every input mention (keys in sorted order).
        merges: one MergeRecord per (entity, alias surface form, method), sorted.
        overrides: one OverrideOutcome per override given to :func:`resolve`.
        llm: counts of the LLM-assisted step (pairs judged, merged, calls, tokens, cost), or None.
    """

    entities: list[Entity] = field(default_factory=list)
    assignments: dict[str, str] = field(default_factory=dict)
    merges: list[MergeRecord] = field(default_factory=list)
    #: what replaying each stored override did (lexprep.resolve.overrides.OverrideOutcome), in order
    overrides: list = field(default_factory=list)
    #: LLM-assisted resolution's counts (lexprep.resolve.llm.JudgeStats as a dict) when it ran
    llm: dict | None = None


@dataclass(slots=True)
class _Group:
    key: str
    mention_ids: list[str] = field(default_factory=list)
    surfaces: Counter = field(default_factory=Counter)
    cited: bool = False  # keyed by a normalised citation
    document_id: str | None = None  # a document-scoped group
    refs: list = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.mention_ids)


@dataclass(slots=True)
class _Cluster:
    primary: _Group
    members: list[tuple[_Group, str, float]]  # (group, method, score); the primary first


_DISCRIMINATORS = frozenset(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "1st 2nd 3rd 4th 5th 6th 7th 8th 9th 10th 11th "
    "north south east west northern southern eastern western central middle upper lower "
    "jr sr ii iii iv v junior senior".split()
)
_DIGITS = re.compile(r"\d+")


def _block(key: str) -> str:
    return "".join(sorted(key.split()))[:2]


_COURT_WORDS = frozenset("court courts of the for united states us u s district circuit appeals appeal supreme superior "
                         "county state commonwealth".split())


def _compatible(label: str, a: str, b: str) -> bool:
    if _DIGITS.findall(a) != _DIGITS.findall(b):
        return False
    ta, tb = set(a.split()), set(b.split())
    if (ta ^ tb) & _DISCRIMINATORS:
        return False
    if label == "PERSON":
        wa, wb = a.split(), b.split()
        if len(wa) > 1 and len(wb) > 1 and wa[0][0] != wb[0][0] and wa[0][0] != wb[-1][0]:
            return False
    if label == "COURT" and (ta - _COURT_WORDS) != (tb - _COURT_WORDS):
        return False  # "Supreme Court of Missouri" is not the "Supreme Court of Mississippi"
    return True


def _fuzzy_clusters(label: str, groups: list[_Group], threshold: float) -> list[_Cluster]:
    from rapidfuzz import fuzz, process

    clusters: list[_Cluster] = []
    blocks: dict[str, list[int]] = defaultdict(list)  # block -> cluster indexes
    block_keys: dict[str, list[str]] = defaultdict(list)  # block -> representative keys (same order)
    for g in groups:
        b = _block(g.key)
        target = None
        # one-word PERSON names are left to the surname rule
        if not (label == "PERSON" and " " not in g.key) and block_keys[b]:
            for _key, score, idx in process.extract(
                g.key, block_keys[b], scorer=fuzz.token_sort_ratio, score_cutoff=threshold, limit=None
            ):
                cluster = clusters[blocks[b][idx]]
                if _compatible(label, g.key, cluster.primary.key):
                    target = (cluster, float(score))
                    break
        if target is None:
            clusters.append(_Cluster(g, [(g, "exact", 100.0)]))
            blocks[b].append(len(clusters) - 1)
            block_keys[b].append(g.key)
        else:
            target[0].members.append((g, "fuzzy", round(target[1], 2)))
    return clusters




def canonical_case_name(citation: str, attrs: dict | None) -> str:
    """"Case Name, citation (court year)" from a CASE mention's attributes; the citation alone when
    there is no case name."""
    attrs = attrs or {}
    name = attrs.get("case_name")
    paren = attrs.get("parenthetical")
    out = f"{display_name(name)}, {citation}" if name else citation
    return f"{out} {paren}" if paren else out


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _canonical(label: str, cluster: _Cluster) -> tuple[str, str]:
    """(canonical name, key of its group)."""
    full = [(g, m) for g, m, _s in cluster.members if m in ("exact", "citation", "fuzzy", "parallel")] or [
        (g, m) for g, m, _s in cluster.members
    ]
    if label == "CASE":
        best = None
        for g, _m in full:
            if g.document_id is not None and len(full) > 1:
                continue
            for r in g.refs:
                a = r.attrs or {}
                rank = (bool(a.get("case_name")), bool(a.get("parenthetical")), g.count, -len(g.key))
                if best is None or rank > best[0]:
                    best = (rank, g.key, a)
        if best is not None:
            return canonical_case_name(best[1], best[2]), best[1]
    counts: Counter = Counter()
    key_of: dict[str, tuple[int, str]] = {}
    for g, _m in full:
        for surface, n in g.surfaces.items():
            counts[surface] += n
            cur = key_of.get(surface)
            if cur is None or (-g.count, g.key) < cur:
                key_of[surface] = (-g.count, g.key)
    name = preferred_surface(counts)
    if label == "LAW" and is_id_form(name):
        # "Id. § 1292(a)(1)" after 28 U.S.C. § 1291: the section it stands for, as normalised
        norm = next((r.normalized for g, _m in full for r in g.refs if r.normalized), None)
        if norm:
            return norm, key_of[name][1]
    return (display_name(name) if label in DISPLAY_LABELS else name), key_of[name][1]


def resolve(mentions: list[MentionRef], settings, matter: str, overrides: list | None = None,
            judge=None) -> Resolution:
    """Resolve a matter's mentions into entities.

    Args:
        mentions: every mention of the matter (ids unique).
        settings: ResolveSettings (``fuzzy_threshold`` 0..100, ``fuzzy_labels``; ``llm_*`` for ``judge``).
        matter: the matter's name or id; part of every entity id.
        overrides: a person's decisions (lexprep.resolve.overrides.Override), replayed in order after
            everything else, so that they always win.
        judge: LLM-assisted resolution (lexprep.resolve.llm.LlmJudge) run after the rules and before the
            overrides: pairs the rules left apart are judged and merged with method ``llm``.

    Returns:
        Resolution (see the module docstring). Deterministic: the same set of mentions gives the
        same result in any order (and, with a judge, the same answers).

    Raises:
        ValueError: two mentions share an id.
    """
    resolution = _resolve_rules(mentions, settings, matter)
    if judge is None and not overrides:
        return resolution
    from lexprep.resolve.overrides import apply_overrides

    if judge is not None:
        resolution = judge.resolve(resolution, mentions, matter, apart=_kept_apart(overrides or []))
    resolution, outcomes = apply_overrides(resolution, mentions, list(overrides or []), matter)
    resolution.overrides = outcomes
    return resolution


def _kept_apart(overrides: list) -> set[tuple[str, str]]:
    """(entity id, alias casefolded) pairs a person split apart: the LLM need not judge them again."""
    return {(o.entity_id, " ".join(o.alias.split()).casefold()) for o in overrides
            if o.kind == "split" and o.alias}


def _resolve_rules(mentions: list[MentionRef], settings, matter: str) -> Resolution:
    """The rules' resolution (steps 1-4 of the module docstring)."""
    by_id: dict[str, MentionRef] = {}
    for m in mentions:
        if m.id in by_id:
            raise ValueError(f"duplicate mention id {m.id!r}")
        by_id[m.id] = m

    def root_of(m: MentionRef) -> MentionRef:
        seen = {m.id}
        while m.link_id and m.link_id in by_id and m.link_id not in seen:
            seen.add(m.link_id)
            m = by_id[m.link_id]
        return m

    by_label: dict[str, dict[tuple[str | None, str], _Group]] = defaultdict(dict)
    linked: list[tuple[MentionRef, MentionRef]] = []
    for m in sorted(by_id.values(), key=lambda r: r.id):
        if m.link_id and m.link_id in by_id:
            root = root_of(m)
            if root.id != m.id:
                linked.append((m, root))
                continue
        scoped = m.scope == "document" or (m.link_id is not None)  # a dangling link stays in its document
        doc = (m.document_id or "") if scoped else None
        key = mention_key(m.label, m.text, m.normalized)
        groups = by_label[m.label]
        g = groups.get((doc, key))
        if g is None:
            g = groups[(doc, key)] = _Group(key, document_id=doc)
        g.mention_ids.append(m.id)
        g.refs.append(m)
        g.surfaces[surface_of(m.text)] += 1
        if m.normalized and m.label in ("CASE", "LAW"):
            g.cited = True

    fuzzy_labels = set(settings.fuzzy_labels)
    threshold = float(settings.fuzzy_threshold)
    entities: list[Entity] = []
    assignments: dict[str, str] = {}
    merges: list[MergeRecord] = []
    group_entity: dict[int, tuple[str, str, str]] = {}  # id(group) -> (entity id, label, name)
    entity_records: dict[str, dict[tuple[str, str], tuple[float, str | None]]] = {}
    entity_surfaces: dict[str, set[str]] = {}
    entity_count: Counter = Counter()
    entity_meta: dict[str, tuple[str, str, str | None]] = {}
    for label in sorted(by_label):
        groups = sorted(by_label[label].values(), key=lambda g: (-g.count, g.document_id or "", g.key))
        matter_groups = [g for g in groups if g.document_id is None]
        doc_groups = [g for g in groups if g.document_id is not None]
        if label in fuzzy_labels:
            multi = [g for g in matter_groups if " " in g.key]
            single = [g for g in matter_groups if " " not in g.key]
            clusters = _fuzzy_clusters(label, multi, threshold) + [_Cluster(g, [(g, "exact", 100.0)]) for g in single]
        else:
            clusters = [_Cluster(g, [(g, "exact", 100.0)]) for g in matter_groups]
        if label == "CASE":  # parallel citations of one case are one entity
            uf = _UnionFind()
            index = {c.primary.key: i for i, c in enumerate(clusters)}
            for i, c in enumerate(clusters):
                for g, _m, _s in c.members:
                    for r in g.refs:
                        for par in (r.attrs or {}).get("parallel", []) or []:
                            j = index.get(citation_key(par))
                            if j is not None:
                                uf.union(i, j)
            joined: dict[int, _Cluster] = {}
            for i, c in enumerate(clusters):
                root = uf.find(i)
                if root == i:
                    joined[i] = c
            for i, c in enumerate(clusters):
                root = uf.find(i)
                if root != i:
                    joined[root].members.extend((g, "parallel", 100.0) for g, _m, _s in c.members)
            clusters = [joined[i] for i in sorted(joined)]
        clusters += [_Cluster(g, [(g, "exact", 100.0)]) for g in doc_groups]

        for cluster in clusters:
            name, canon_key = _canonical(label, cluster)
            doc = cluster.primary.document_id
            entity_id = stable_id(matter, label, canon_key) if doc is None else stable_id(matter, label, doc, canon_key)
            surfaces: set[str] = set()
            records: dict[tuple[str, str], tuple[float, str | None]] = {}
            for g, method, score in cluster.members:
                group_entity[id(g)] = (entity_id, label, name)
                entity_count[entity_id] += len(g.mention_ids)
                assignments.update(dict.fromkeys(g.mention_ids, entity_id))
                if method == "exact" and g.cited:
                    method = "citation"
                why = {"exact": f"same normalised name ({g.key})", "citation": f"same citation ({g.key})",
                       "fuzzy": f"token_sort_ratio {score:g} between '{g.key}' and '{cluster.primary.key}'",
                       "parallel": f"a parallel citation of {cluster.primary.key}"}.get(method)
                for surface in g.surfaces:
                    surfaces.add(surface)
                    if surface != name:
                        records[(surface, method)] = max(records.get((surface, method), (0.0, None)), (score, why))
                if label == "CASE":
                    for r in g.refs:
                        for par in (r.attrs or {}).get("parallel", []) or []:
                            surfaces.add(par)
            entity_records[entity_id] = records
            entity_surfaces[entity_id] = surfaces
            entity_meta[entity_id] = (label, name, doc)

    # in-document links join their root's entity
    group_of_mention = {}
    for label_groups in by_label.values():
        for g in label_groups.values():
            for mid in g.mention_ids:
                group_of_mention[mid] = g
    for m, root in linked:
        g = group_of_mention.get(root.id)
        if g is None:
            continue
        entity_id, _label, _name = group_entity[id(g)]
        assignments[m.id] = entity_id
        entity_count[entity_id] += 1
        alias = surface_of(m.text)
        entity_surfaces[entity_id].add(alias)
        evidence = (m.attrs or {}).get("evidence") or " ".join(root.text.split())
        evidence = f"document {m.document_id}: {evidence}" if m.document_id else evidence
        key = (alias, m.link_method or "link")
        if key not in entity_records[entity_id]:
            entity_records[entity_id][key] = (100.0, evidence)

    for entity_id, (label, name, doc) in entity_meta.items():
        entities.append(Entity(entity_id, label, name, sorted(entity_surfaces[entity_id] - {name}),
                               entity_count[entity_id], doc))
        merges.extend(
            MergeRecord(entity_id, label, alias, name, method, score, evidence)
            for (alias, method), (score, evidence) in entity_records[entity_id].items()
            if alias != name
        )
    entities.sort(key=lambda e: (e.label, e.name, e.id))
    merges.sort(key=lambda r: (r.label, r.entity_id, r.method, r.alias))
    return Resolution(entities, {k: assignments[k] for k in sorted(assignments)}, merges)
