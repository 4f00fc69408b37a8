"""Code, data and scripts cite only files of this repository: no design notes, research or
briefs kept elsewhere (the facts they rely on are in docs/ and README.md), and every docs/
file they name exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: References to documents outside the repository.
ELSEWHERE = re.compile(
    r"DESIGN\.md|LAYOUT\.md|shared/|\bdomain/|domain (brief|README|legend|§)|\bbrief\b|\.\./shared",
    re.IGNORECASE,
)
CITED_DOC = re.compile(r"\bdocs/[\w.-]+\.md")
#: Prose (the checklists' own texts) may say "brief" in its ordinary sense.
PROSE_KEYS = re.compile(r"^\s*(en|zh-CN):")


def _files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    wanted = (".py", ".sh", ".yaml", ".toml", ".java", "Dockerfile", "Makefile")
    return [ROOT / f for f in listed if f.endswith(wanted) and (ROOT / f).is_file()]


def test_nothing_cites_documents_kept_outside_the_repository():
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in _files()
        if path.name != "test_citations.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ELSEWHERE.search(line) and not PROSE_KEYS.match(line)
    ]
    assert found == []


def test_every_cited_docs_file_exists():
    cited = {
        doc
        for path in [*_files(), ROOT / "README.md"]
        for doc in CITED_DOC.findall(path.read_text(encoding="utf-8"))
    }
    assert cited, "nothing cites docs/: the check would prove nothing"
    assert sorted(doc for doc in cited if not (ROOT / doc).is_file()) == []
