"""Code blocks of the README, so tests run what it shows."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_block(after: str, language: str) -> str:
    """The first ``language`` code block of the README after the line containing ``after``."""
    text = README.read_text()
    start = text.index(after)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(text, start)
    assert match, f"no {language} block after {after!r}"
    return match.group(1)


def readme_questions() -> list[tuple[str, str]]:
    """``(mart, sql)`` of every question in the README's "Questions analysts ask" section."""
    text = README.read_text()
    start = text.index("### Questions analysts ask")
    end = text.index("\n## ", start)
    return re.findall(r"\*\*(\w+)\*\*[^`]*?```sql\n(.*?)```", text[start:end], re.S)
