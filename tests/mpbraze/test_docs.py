"""The README stays a short guide, and every link of the documentation leads somewhere."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_BYTES = 16_000

FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.M)
# Built from parts so that this file does not match itself.
RETIRED_SPEC_MARK = "SPEC " + "§"


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.lower())
    return text.replace(" ", "-")


def anchors(document: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", document.read_text())):
        slug = anchor(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(document: Path) -> list[str]:
    prose = INLINE_CODE.sub("", FENCE.sub("", document.read_text()))
    return [t for t in LINK.findall(prose) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def test_the_readme_is_a_short_guide() -> None:
    size = README.stat().st_size
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move detail into docs/"


def test_the_readme_links_every_document_in_docs() -> None:
    linked = {target.split("#")[0] for target in relative_links(README)}
    missing = [d.name for d in DOCUMENTS[1:] if f"docs/{d.name}" not in linked]
    assert not missing, f"README.md does not link {missing}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading(document: Path) -> None:
    broken = []
    for target in relative_links(document):
        path, _, fragment = target.partition("#")
        destination = (document.parent / path).resolve() if path else document
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif fragment and destination.suffix == ".md" and fragment not in anchors(destination):
            broken.append(f"{target}: no heading #{fragment} in {destination.name}")
    assert not broken, f"{document.name}: {broken}"


def test_the_anchor_rule_matches_githubs() -> None:
    assert anchor("Settings: `.env.example` is the table") == "settings-envexample-is-the-table"
    assert anchor("Inbound API (mParticle Events API)") == "inbound-api-mparticle-events-api"
    assert anchor("REST API, REST hooks and metrics") == "rest-api-rest-hooks-and-metrics"


def test_no_file_cites_the_specification_that_is_not_in_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    citing = [
        name.decode()
        for name in tracked
        if name
        and (ROOT / name.decode()).is_file()
        and RETIRED_SPEC_MARK.encode() in (ROOT / name.decode()).read_bytes()
    ]
    assert not citing, f"cite the docs/ file that holds the rule instead: {citing}"
