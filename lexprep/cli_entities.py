"""``lexprep entities``: the merge audit of a matter, and a person's undo (split) or forced merge.

``merges`` lists every merge the resolver made (rules, in-document links, the LLM, a person) with its
method, score and evidence, and the matter's overrides; ``show`` lists an entity's mentions (to split
one off by ``--mention``); ``split`` and ``merge`` store an override (lexprep.store.overrides) that every
later resolution replays (lexprep.resolve.overrides), and apply it at once: the stored entities, the
export and the graph reflect it when the command returns.

Exit codes: 0 done; 1 the override does not fit the matter (unknown entity, alias not in it ...),
nothing stored; 2 the store or the matter cannot be found.
"""

from __future__ import annotations

import getpass
import json
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

entities_app = typer.Typer(add_completion=False, no_args_is_help=True,
                           help="The merge audit of a matter's entities; split a wrong merge or force one.")

DB_HELP = "SQLAlchemy URL of the store (default: sqlite:///lexprep.db in the working directory)"


def _cli():
    from lexprep import cli

    return cli


def _author() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return None


@entities_app.command("merges")
def merges_cmd(
    matter: str = typer.Option(..., "--matter", "-m"),
    entity: Optional[str] = typer.Option(None, "--entity", help="only this entity's merges"),
    json_out: bool = typer.Option(False, "--json", help="one JSON object: merges and overrides"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Every merge of the matter (or of one entity): alias -> entity, method, score, evidence; and the overrides."""
    cli = _cli()
    store, matter_id = cli._store_and_matter(db, matter)
    rows = store.overrides.merges(matter_id, entity)
    overrides = [o for o in store.overrides.list(matter_id)
                 if entity is None or entity in (o.entity_id, o.other_entity_id)]
    if entity is not None and not rows and store.overrides.entity(matter_id, entity) is None and not overrides:
        cli._fail(f"no entity {entity!r} in matter {matter!r}", code=1)
    if json_out:
        print(json.dumps({"matter": matter, "merges": [r.to_dict() for r in rows],
                          "overrides": [o.to_dict() for o in overrides]}, indent=2, default=str))
        return
    table = Table(title=f"merges of {matter}" + (f", entity {entity}" if entity else ""), show_lines=False)
    for col in ("entity", "label", "canonical", "alias", "method", "score", "evidence"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.entity_id, r.label, escape(r.canonical), escape(r.alias), r.method, f"{r.score:g}",
                      escape(r.evidence or ""))
    cli.console.print(table)
    if overrides:
        ot = Table(title="overrides (replayed by every resolution, in this order)")
        for col in ("seq", "kind", "entity", "other / alias / mention", "label", "note", "by", "at"):
            ot.add_column(col, overflow="fold")
        for o in overrides:
            what = o.other_entity_id or (repr(o.alias) if o.alias is not None else f"mention {o.mention_id}")
            ot.add_row(str(o.seq), o.kind, o.entity_id, escape(what), o.label or "", escape(o.note or ""),
                       escape(o.author or ""), o.created_at.isoformat(timespec="seconds"))
        cli.console.print(ot)
    cli.console.print(f"{len(rows)} merge(s), {len(overrides)} override(s)")


@entities_app.command("show")
def show_cmd(
    entity_id: str = typer.Argument(..., help="the entity's id"),
    matter: str = typer.Option(..., "--matter", "-m"),
    json_out: bool = typer.Option(False, "--json", help="one JSON object"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """An entity: its name, aliases and mentions (their ids, to split one off with --mention)."""
    cli = _cli()
    store, matter_id = cli._store_and_matter(db, matter)
    e = store.overrides.entity(matter_id, entity_id)
    if e is None:
        cli._fail(f"no entity {entity_id!r} in matter {matter!r}", code=1)
    mentions = store.overrides.find_mentions(matter_id, entity_id)
    if json_out:
        print(json.dumps({"id": e.id, "label": e.label, "name": e.name, "aliases": e.aliases,
                          "mention_count": e.mention_count, "document_id": e.document_id,
                          "mentions": [{"id": m[0], "text": m[1], "document_id": m[2], "doc_start": m[3],
                                        "doc_end": m[4]} for m in mentions]}, indent=2))
        return
    cli.console.print(f"{e.label} {escape(e.name)} ({e.id}): {e.mention_count} mention(s); aliases: "
                      f"{escape(', '.join(e.aliases)) or '-'}", soft_wrap=True)
    table = Table()
    for col in ("mention", "text", "document", "offsets"):
        table.add_column(col, overflow="fold")
    for mid, text, doc, start, end in mentions:
        table.add_row(mid, escape(text), doc, f"{start}-{end}")
    cli.console.print(table)


def _apply(store, matter_id: str, matter: str, db: str | None, edit, kind: str, entity_id: str, **row) -> None:
    """Apply a split or merge (lexprep.pipeline.apply_override) and say what it did; exit 1 without storing
    anything when it does not fit."""
    from lexprep import pipeline

    cli = _cli()
    outcome, saved, counts = pipeline.apply_override(store, matter_id, matter, kind, entity_id, edit,
                                                     cli._settings(db=db), author=_author(), **row)
    if saved is None:
        cli._fail(f"not done: {outcome.detail}", code=1)
    cli.console.print(f"override {saved.id} ({kind}, #{saved.seq}) stored: {escape(outcome.detail)}; the matter now "
                      f"has {counts['entities']} entities and {counts['relationships']} relationships", soft_wrap=True)


@entities_app.command("split")
def split_cmd(
    entity_id: str = typer.Argument(..., help="the entity a wrong merge went into"),
    matter: str = typer.Option(..., "--matter", "-m"),
    alias: Optional[str] = typer.Option(None, "--alias", help="the surface text whose mentions leave the entity"),
    mention: Optional[str] = typer.Option(None, "--mention", help="one mention's id (see `entities show`)"),
    note: Optional[str] = typer.Option(None, "--note", help="why (kept in the audit)"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Undo a merge: the mentions of --alias (or the one --mention, with the surnames, defined terms and
    "Id." that stand for it) leave the entity and become an entity of their own, now and in every later run."""
    cli = _cli()
    if (alias is None) == (mention is None):
        cli._fail("give --alias TEXT or --mention ID (one of them)")
    store, matter_id = cli._store_and_matter(db, matter)
    _apply(store, matter_id, matter, db, lambda ed, _oid: ed.split(entity_id, alias, mention), "split", entity_id,
           alias=alias, mention_id=mention, note=note)


@entities_app.command("merge")
def merge_cmd(
    entity_id: str = typer.Argument(..., help="the entity that stays (its id and name)"),
    other_id: str = typer.Argument(..., help="the entity that joins it"),
    matter: str = typer.Option(..., "--matter", "-m"),
    note: Optional[str] = typer.Option(None, "--note", help="why (kept in the audit)"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Force a merge: the second entity joins the first (same label), now and in every later run."""
    cli = _cli()
    store, matter_id = cli._store_and_matter(db, matter)

    def edit(ed, override_id):
        evidence = f"merged by a person (override {override_id})" + (f": {note}" if note else "")
        return ed.merge(entity_id, other_id, "manual", 100.0, evidence)

    _apply(store, matter_id, matter, db, edit, "merge", entity_id, other_entity_id=other_id, note=note)
