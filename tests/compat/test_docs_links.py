"""The documentation stays navigable: every relative link and every `#anchor` in README.md,
docs/*.md and examples/*/README.md resolves (anchors as GitHub renders them), every TOML snippet
parses, and nothing in the repository points at the internal references outside it.

Pure file checks: no gateway process is started.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Directories never scanned: build output, dependencies, virtual environments.
SKIPPED_DIRS = {"target", "node_modules", ".venv", ".git", "__pycache__"}

# Text that would point outside the repository, at references that are not part of it.
FORBIDDEN = ("../shared", "shared/spec")

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
# `](target)` or `](target "title")`: every inline link and image, whatever its text holds.
INLINE_TARGET = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_TARGET = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
LINE_ANCHOR = re.compile(r"^L\d+(-L\d+)?$")


def documents() -> list[Path]:
    """The Markdown files whose links are checked."""
    files = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    files += sorted((REPO / "examples").glob("*/README.md"))
    return [f for f in files if f.is_file()]


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    out, fenced, marker = [], False, ""
    for number, line in enumerate(text.splitlines(), 1):
        fence = FENCE.match(line)
        if fence and (not fenced or fence.group(1) == marker):
            fenced, marker = (not fenced), fence.group(1)
            continue
        if not fenced:
            out.append((number, line))
    return out


def without_code_spans(line: str) -> str:
    """A line with its inline code spans removed (links are not recognised inside them)."""
    line = re.sub(r"``.+?``", "", line)
    return re.sub(r"`[^`]*`", "", line)


def heading_text(raw: str) -> str:
    """A heading's text as GitHub renders it: code spans keep their content, links their text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    text = re.sub(r"<[^>]+>", "", text)
    return text.replace("`", "").replace("*", "")


def slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation and symbols dropped, spaces to '-'."""
    kept = [
        c
        for c in text.strip().lower()
        if c in " -_" or unicodedata.category(c)[0] in "LN" or unicodedata.category(c) in ("Mn", "Mc")
    ]
    return "".join(kept).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor a Markdown file defines: heading slugs (with GitHub's -1, -2 suffixes for
    repeats) and explicit `<a name>`/`<a id>` anchors."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        found.update(HTML_ANCHOR.findall(line))
        heading = HEADING.match(line)
        if not heading:
            continue
        base = slug(heading_text(heading.group(2)))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def link_targets(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every inline and reference link outside code."""
    out = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        reference = REFERENCE_TARGET.match(line)
        if reference:
            out.append((number, reference.group(1)))
            continue
        out += [(number, t) for t in INLINE_TARGET.findall(without_code_spans(line))]
    return out


def problems_of(path: Path, anchor_cache: dict[Path, set[str]]) -> tuple[list[str], int]:
    """Broken relative links and anchors of one file, and how many links were checked."""
    problems, checked = [], 0
    where = path.relative_to(REPO)
    for number, target in link_targets(path):
        if SCHEME.match(target) or target.startswith("//"):
            continue  # external: not checked here
        checked += 1
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if REPO not in resolved.parents and resolved != REPO:
            problems.append(f"{where}:{number}: {target} leaves the repository")
            continue
        if not resolved.exists():
            problems.append(f"{where}:{number}: {target}: {resolved.relative_to(REPO)} does not exist")
            continue
        if not anchor:
            continue
        if resolved.suffix.lower() == ".md" and resolved.is_file():
            if resolved not in anchor_cache:
                anchor_cache[resolved] = anchors(resolved)
            if anchor not in anchor_cache[resolved]:
                problems.append(
                    f"{where}:{number}: {target}: no heading or anchor #{anchor} "
                    f"in {resolved.relative_to(REPO)}"
                )
        elif not LINE_ANCHOR.match(anchor):
            problems.append(f"{where}:{number}: {target}: #{anchor} cannot be checked in a non-Markdown file")
    return problems, checked


def test_slugs_follow_github():
    cases = {
        "3.1 Upgrade and `$connect`": "31-upgrade-and-connect",
        "4.2 AWS_PROXY (Lambda proxy) — the event": "42-aws_proxy-lambda-proxy--the-event",
        "`[apis.ID.stages.NAME]`": "apisidstagesname",
        "7. The `@connections` management API (ApiGatewayManagementApi, version 2018-11-29)":
            "7-the-connections-management-api-apigatewaymanagementapi-version-2018-11-29",
        "Calls to backends, and what is guaranteed": "calls-to-backends-and-what-is-guaranteed",
    }
    for heading, expected in cases.items():
        assert slug(heading_text(heading)) == expected


def test_every_relative_link_and_anchor_resolves():
    docs = documents()
    assert REPO / "README.md" in docs and any(p.parent.name == "docs" for p in docs)
    problems, checked, cache = [], 0, {}
    for path in docs:
        found, n = problems_of(path, cache)
        problems += found
        checked += n
    # The documents link to each other heavily; a parser that finds nothing must not pass.
    assert checked >= 100, f"only {checked} relative links found: is the link parser broken?"
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_a_broken_anchor_is_reported(tmp_path, monkeypatch):
    root = tmp_path.resolve()
    monkeypatch.setitem(globals(), "REPO", root)
    (root / "a.md").write_text("# Title\n\n## Part `one`\n\n[ok](#part-one) [bad](#part-two) [gone](b.md)\n")
    problems, checked = problems_of(root / "a.md", {})
    assert checked == 3
    assert len(problems) == 2 and "#part-two" in problems[0] and "b.md" in problems[1]


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(REPO)))
def test_toml_snippets_parse(path: Path):
    """Every ```toml block is valid TOML 1.0 (docs/configuration.md's blocks are also loaded as
    whole configurations by a Rust test). Switchboard reads TOML 1.1, which also allows line
    breaks inside inline tables; snippets keep to 1.0 so that every TOML tool reads them."""
    block, inside, first = [], False, 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not inside and line.strip() == "```toml":
            block, inside, first = [], True, number + 1
        elif inside and line.strip() == "```":
            inside = False
            try:
                tomllib.loads("\n".join(block))
            except tomllib.TOMLDecodeError as e:
                pytest.fail(f"{path.relative_to(REPO)}:{first}: toml block does not parse: {e}")
        elif inside:
            block.append(line)
    assert not inside, f"{path.relative_to(REPO)}: unclosed ```toml block"


def scanned_files():
    """README.md and every file under docs/, crates/ and examples/."""
    yield REPO / "README.md"
    for top in ("docs", "crates", "examples"):
        for path in sorted((REPO / top).rglob("*")):
            if path.is_file() and not SKIPPED_DIRS.intersection(path.relative_to(REPO).parts):
                yield path


def test_nothing_points_at_references_outside_the_repository():
    offenders = []
    for path in scanned_files():
        data = path.read_bytes()
        for needle in FORBIDDEN:
            if needle.encode() in data:
                line = data[: data.index(needle.encode())].count(b"\n") + 1
                offenders.append(f"{path.relative_to(REPO)}:{line}: mentions {needle}")
    assert not offenders, "\n".join(offenders)
