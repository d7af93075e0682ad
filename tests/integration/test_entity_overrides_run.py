"""A person's split and merge survive later runs of the real `lexprep` CLI: a re-run, a run with a new file
and a ``--retry-failed`` run (each resolves the matter again and replays the overrides)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lexprep.demo import write_demo_matter

pytestmark = [pytest.mark.integration, pytest.mark.prefect]

BIN = Path(sys.executable).parent


def lexprep(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PREFECT_HOME=str(home), COLUMNS="200", LEXPREP_PROFILE="local")
    env.pop("PREFECT_API_URL", None)
    return subprocess.run([str(BIN / "lexprep"), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def _entities(root: Path, out: str) -> dict[str, dict]:
    return {e["id"]: e for e in map(json.loads, (root / out / "entities.jsonl").read_text().splitlines())}


def _mention_entities(root: Path, out: str) -> dict[str, str | None]:
    return {m["id"]: m["entity_id"] for m in map(json.loads, (root / out / "mentions.jsonl").read_text().splitlines())}


def test_overrides_survive_a_rerun_and_a_retry_failed_run(tmp_path: Path):
    src, home = tmp_path / "matter", tmp_path / "home"
    write_demo_matter(src)
    (src / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00" * 40)  # fails: something for --retry-failed
    db = f"sqlite:///{tmp_path / 'store.db'}"
    common = ("--matter", "m", "--db", db)

    def cli(*args: str) -> subprocess.CompletedProcess:
        done = lexprep(*args, cwd=tmp_path, home=home)
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-3000:])
        return done

    cli("run", str(src), *common)
    audit = json.loads(cli("entities", "merges", *common, "--json").stdout)
    assert audit["merges"], "the demo matter has merges to audit"
    # split one merged alias off its entity (the first the CLI accepts), and force a merge of two persons
    split = None
    for rec in audit["merges"]:
        done = lexprep("entities", "split", rec["entity_id"], "--alias", rec["alias"], *common, cwd=tmp_path, home=home)
        if done.returncode == 0:
            split = rec
            break
        assert done.returncode == 1, done.stderr[-2000:]
    assert split is not None, audit["merges"]
    cli("export", *common, "--out", str(tmp_path / "out0"))
    involved = {e["id"] for e in _entities(tmp_path, "out0").values()
                if e["id"] == split["entity_id"] or split["alias"] in (e["name"], *e["aliases"])}
    orgs = sorted((e for e in _entities(tmp_path, "out0").values() if e["label"] == "ORG"
                   and e["document_id"] is None and e["id"] not in involved),
                  key=lambda e: (-e["mention_count"], e["id"]))
    keep, other = orgs[0], orgs[1]
    cli("entities", "merge", keep["id"], other["id"], *common, "--note", "the same party")
    cli("export", *common, "--out", str(tmp_path / "out1"))
    after_cli = _entities(tmp_path, "out1")
    assert other["id"] not in after_cli and other["name"] in after_cli[keep["id"]]["aliases"]
    split_off = [e for e in after_cli.values() if split["alias"] in (e["name"], *e["aliases"])
                 and e["id"] != split["entity_id"]]
    assert split_off, (split, after_cli.get(split["entity_id"]))
    assert split["alias"] not in after_cli[split["entity_id"]]["aliases"]
    mentions_after_cli = _mention_entities(tmp_path, "out1")

    # a re-run (nothing to redo), a new file, then --retry-failed: each one resolves again
    cli("run", str(src), *common)
    (src / "note.txt").write_text(f"Memo. {keep['name']} and {other['name']} met in Boston on May 3, 2024.\n")
    cli("run", str(src), *common)
    cli("run", str(src), *common, "--retry-failed")
    cli("export", *common, "--out", str(tmp_path / "out2"))
    final = _entities(tmp_path, "out2")
    assert other["id"] not in final and other["name"] in final[keep["id"]]["aliases"]
    assert split["alias"] not in final[split["entity_id"]]["aliases"]
    assert {e["id"] for e in split_off} <= set(final)
    mentions = _mention_entities(tmp_path, "out2")
    assert {k: v for k, v in mentions.items() if k in mentions_after_cli} == mentions_after_cli
    audit = json.loads(cli("entities", "merges", *common, "--json").stdout)
    assert [o["kind"] for o in audit["overrides"]] == ["split", "merge"]
    assert any(r["method"] == "manual" and "the same party" in (r["evidence"] or "") for r in audit["merges"])
