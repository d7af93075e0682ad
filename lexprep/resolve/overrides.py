"""Edits of a resolution after the rules: a person's splits and merges (overrides), and merges judged by
an LLM (lexprep.resolve.llm), all through one :class:`Editor`.

An override is a decision stored in the matter (lexprep.store.overrides) and replayed, in the order it
was made, on top of every later resolution (``lexprep run``, ``--retry-failed``, ``forget``, and the
re-resolution ``lexprep entities split|merge`` does at once), so a wrong merge stays undone:

- ``split``: the mentions of entity ``entity_id`` whose text is ``alias`` (as written, else regardless of
  case, else by the resolver's normalised key, lexprep.resolve.keys.mention_key: the narrowest reading that
  finds something) -- or the one mention
  ``mention_id`` -- leave the entity, together with the mentions that stand for them in their
  documents (a surname, a defined term, "Id." linked to a moved mention), and become an entity of their
  own: ``id = stable_id(matter, label, "split", entity_id, key)`` (``key`` the alias's normalised key, or
  ``surface:<alias>`` when the surface reading was narrower; the same id on every replay). The
  entity keeps its id; its name is chosen again from what is left when its name went.
- ``merge``: entity ``other_entity_id`` joins ``entity_id`` (its mentions, aliases and merge records);
  ``entity_id`` keeps its id and name. A merge record with method ``manual`` (or ``llm`` for the LLM's)
  says so in the audit.

An override that no longer fits the matter (its entity is gone after documents were forgotten, or the
alias is no longer in it) is skipped, and the outcome says why; nothing else changes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from lexprep.models import Entity, MergeRecord, stable_id
from lexprep.resolve.keys import mention_key
from lexprep.resolve.names import DISPLAY_LABELS, display_name, preferred_surface, surface_of

__all__ = ["Override", "OverrideOutcome", "Editor", "apply_overrides"]

#: labels whose canonical name is title-cased from capitals (as lexprep.resolve does)


@dataclass(frozen=True, slots=True)
class Override:
    """One stored decision (see the module docstring).

    Attributes:
        id: the override's id (lexprep.store.overrides).
        kind: ``split`` or ``merge``.
        entity_id: the entity split, or the entity merged into.
        other_entity_id: ``merge``: the entity that joins ``entity_id``.
        alias: ``split``: the surface text whose mentions leave the entity.
        mention_id: ``split``: the one mention that leaves (with what stands for it).
        note: free text from the person, shown in the audit.
    """

    id: str
    kind: str
    entity_id: str
    other_entity_id: str | None = None
    alias: str | None = None
    mention_id: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class OverrideOutcome:
    """What replaying one override did: ``applied`` with the entity it made or joined, or why not."""

    override_id: str
    applied: bool
    detail: str
    new_entity_id: str | None = None


class Editor:
    """A resolution being edited: entities, mention assignments and merge records.

    Args:
        entities, assignments, merges: a Resolution's fields (lexprep.resolve.Resolution).
        mentions: the MentionRef of every assigned mention (text, label, links).
        matter: the matter's name or id (part of the ids of split-off entities).
    """

    def __init__(self, entities: list[Entity], assignments: dict[str, str], merges: list[MergeRecord],
                 mentions, matter: str):
        self.matter = matter
        self.entities: dict[str, Entity] = {e.id: Entity(e.id, e.label, e.name, list(e.aliases), e.mention_count,
                                                         e.document_id) for e in entities}
        self.assignments = dict(assignments)
        self.records: dict[str, list[MergeRecord]] = {}
        for r in merges:
            self.records.setdefault(r.entity_id, []).append(r)
        self.refs = {m.id: m for m in mentions}
        self.members: dict[str, set[str]] = {}
        for mid, eid in self.assignments.items():
            self.members.setdefault(eid, set()).add(mid)

    # ------------------------------------------------------------------------------------ edits

    def merge(self, into: str, other: str, method: str, score: float, evidence: str | None) -> OverrideOutcome:
        """Join entity ``other`` into ``into`` (see the module docstring); ``method``/``score``/``evidence``
        go on the merge record of ``other``'s name."""
        a, b = self.entities.get(into), self.entities.get(other)
        if a is None or b is None:
            missing = into if a is None else other
            return OverrideOutcome("", False, f"entity {missing} is not in the matter (any more)")
        if into == other:
            return OverrideOutcome("", False, "an entity cannot be merged with itself")
        if a.label != b.label:
            return OverrideOutcome("", False, f"labels differ ({a.label} and {b.label})")
        if a.document_id != b.document_id and (a.document_id or b.document_id):
            a.document_id = None  # a person (or the LLM) joined it to something outside its document
        moved = self.members.pop(other, set())
        self.members.setdefault(into, set()).update(moved)
        for mid in moved:
            self.assignments[mid] = into
        surfaces = (set(a.aliases) | {b.name} | set(b.aliases)) - {a.name}
        a.aliases = sorted(surfaces)
        a.mention_count += b.mention_count
        records = self.records.setdefault(into, [])
        for r in self.records.pop(other, []):
            if r.alias != a.name:
                records.append(MergeRecord(into, r.label, r.alias, a.name, r.method, r.score, r.evidence))
        if b.name != a.name:
            records.append(MergeRecord(into, a.label, b.name, a.name, method, float(score), evidence))
        del self.entities[other]
        return OverrideOutcome("", True, f"{b.name!r} ({other}) joined {a.name!r}", into)

    def split(self, entity_id: str, alias: str | None = None, mention_id: str | None = None) -> OverrideOutcome:
        """Pull the mentions of ``alias`` (or the one ``mention_id``) out of ``entity_id`` into an entity of
        their own (see the module docstring)."""
        e = self.entities.get(entity_id)
        if e is None:
            return OverrideOutcome("", False, f"entity {entity_id} is not in the matter (any more)")
        members = self.members.get(entity_id, set())
        if mention_id is not None:
            if mention_id not in members:
                return OverrideOutcome("", False, f"mention {mention_id} is not a mention of entity {entity_id}")
            seed = {mention_id}
            tag = f"mention:{mention_id}"
        else:
            if not alias or not alias.strip():
                return OverrideOutcome("", False, "a split needs an alias or a mention")
            key = mention_key(e.label, alias, None)
            exact, folded, keyed = set(), set(), set()
            for mid in members:
                m = self.refs.get(mid)
                if m is None:
                    continue
                surface = surface_of(m.text)
                if surface == surface_of(alias):
                    exact.add(mid)
                if surface.casefold() == surface_of(alias).casefold():
                    folded.add(mid)
                if mention_key(m.label, m.text, m.normalized) == key or (
                        m.normalized and mention_key(m.label, m.normalized, m.normalized) == key):
                    keyed.add(mid)
            # the narrowest reading that finds something: the surface as written, then regardless of case,
            # then by the resolver's key ("HARBORLINE LOGISTICS, INC." can leave "Harborline Logistics, Inc.")
            seed = exact or folded or (keyed | folded)
            tag = key if seed == keyed else f"surface:{surface_of(alias) if seed is exact else surface_of(alias).casefold()}"
            if not seed:
                return OverrideOutcome("", False, f"no mention of {e.name!r} ({entity_id}) reads {alias!r}")
        moved = set(seed)
        grew = True
        while grew:  # what stands for a moved mention in its document follows it
            grew = False
            for mid in members - moved:
                m = self.refs.get(mid)
                if m is not None and m.link_id in moved:
                    moved.add(mid)
                    grew = True
        left = members - moved
        if not left:
            return OverrideOutcome("", False, f"every mention of {e.name!r} reads {alias or mention_id!r}: "
                                              "nothing to split from")
        new_id = stable_id(self.matter, e.label, "split", entity_id, tag)
        old_surfaces = set(e.aliases) | {e.name}
        moved_surfaces = Counter(surface_of(self.refs[m].text) for m in moved if m in self.refs)
        left_surfaces = Counter(surface_of(self.refs[m].text) for m in left if m in self.refs)
        self.members[entity_id] = left
        e.mention_count = len(left)
        gone = set(moved_surfaces) - set(left_surfaces)
        if any(e.name in (s, display_name(s)) for s in gone) and \
                not any(e.name in (s, display_name(s)) for s in left_surfaces):
            e.name = self._name(e.label, left)  # the name went with the moved mentions
        e.aliases = sorted(((old_surfaces - gone) | set(left_surfaces)) - {e.name})
        target = self.entities.get(new_id)
        if target is None:
            target = self.entities[new_id] = Entity(new_id, e.label, self._name(e.label, moved), [], 0, e.document_id)
            self.members[new_id] = set()
        self.members[new_id] |= moved
        for mid in moved:
            self.assignments[mid] = new_id
        target.mention_count = len(self.members[new_id])
        target.aliases = sorted((set(target.aliases) | set(moved_surfaces)) - {target.name})
        kept, out = [], self.records.setdefault(new_id, [])
        for r in self.records.get(entity_id, []):
            if r.alias in gone or r.alias == target.name:
                if r.alias != target.name:
                    out.append(MergeRecord(new_id, r.label, r.alias, target.name, r.method, r.score, r.evidence))
            else:
                kept.append(MergeRecord(entity_id, r.label, r.alias, e.name, r.method, r.score, r.evidence))
        self.records[entity_id] = kept
        return OverrideOutcome("", True, f"{len(moved)} mention(s) of {target.name!r} left {e.name!r} "
                                         f"as entity {new_id}", new_id)

    def _name(self, label: str, mention_ids: set[str]) -> str:
        """The most frequent surface of the mentions that stand for nothing else (all of them when every
        one does), preferring forms not in capitals, then the longest."""
        refs = [self.refs[m] for m in mention_ids if m in self.refs]
        roots = [r for r in refs if not r.link_id or r.link_id not in mention_ids] or refs
        counts = Counter(surface_of(r.text) for r in roots)
        if not counts:
            return "?"
        name = preferred_surface(counts)
        return display_name(name) if label in DISPLAY_LABELS else name

    # ------------------------------------------------------------------------------------ result

    def result(self):
        """The edited :class:`lexprep.resolve.Resolution` (sorted as the resolver sorts)."""
        from lexprep.resolve import Resolution

        entities = sorted(self.entities.values(), key=lambda e: (e.label, e.name, e.id))
        merges: dict[tuple[str, str, str], MergeRecord] = {}
        for eid, records in self.records.items():
            if eid not in self.entities:
                continue
            for r in records:
                k = (eid, r.alias, r.method)
                if r.alias != self.entities[eid].name and (k not in merges or r.score > merges[k].score):
                    merges[k] = r
        out = sorted(merges.values(), key=lambda r: (r.label, r.entity_id, r.method, r.alias))
        return Resolution(entities, {k: self.assignments[k] for k in sorted(self.assignments)}, out)


def apply_overrides(resolution, mentions, overrides: list[Override], matter: str):
    """Replay ``overrides`` (in order) on ``resolution``.

    Args:
        resolution: a lexprep.resolve.Resolution.
        mentions: the MentionRefs it was made from.
        overrides: the matter's overrides in the order they were made.
        matter: the matter's name or id given to the resolver.

    Returns:
        ``(Resolution, [OverrideOutcome, ...])``, one outcome per override.
    """
    if not overrides:
        return resolution, []
    editor = Editor(resolution.entities, resolution.assignments, resolution.merges, mentions, matter)
    outcomes = []
    for o in overrides:
        if o.kind == "split":
            got = editor.split(o.entity_id, o.alias, o.mention_id)
        elif o.kind == "merge" and o.other_entity_id:
            evidence = f"merged by a person (override {o.id})" + (f": {o.note}" if o.note else "")
            got = editor.merge(o.entity_id, o.other_entity_id, "manual", 100.0, evidence)
        else:
            got = OverrideOutcome("", False, f"unknown override kind {o.kind!r}")
        outcomes.append(OverrideOutcome(o.id, got.applied, got.detail, got.new_entity_id))
    return editor.result(), outcomes
