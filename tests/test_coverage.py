"""The README's coverage table and the notebooks' first cells map the article the same way.

Every notebook opens with an ``*Article · 原文:*`` line naming the sections of the article it
teaches; the README's "Coverage · 覆盖范围" table lists, for every section, the notebooks that
teach it. They are two views of one mapping, kept by hand in two places: these tests fail when
they differ, when a section of the article has no row, and when a § number or the Chinese heading
written after it is not the article's.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import REPO_DIR

#: The article's numbered headings, as it writes them (it numbers its outlook 6.4, with no 6.1–6.3).
HEADINGS = {
    "1": "背景介绍", "1.1": "问题的由来", "1.2": "研究现状", "1.3": "研究意义", "1.4": "本文结构",
    "2": "核心概念与联系",
    "3": "核心算法原理具体操作步骤", "3.1": "算法原理概述", "3.2": "算法步骤详解", "3.3": "算法优缺点",
    "3.4": "算法应用领域",
    "4": "数学模型和公式详细讲解举例说明", "4.1": "数学模型构建", "4.2": "公式推导过程",
    "4.3": "案例分析与讲解", "4.4": "常见问题解答",
    "5": "项目实践：代码实例和详细解释说明", "5.1": "开发环境搭建", "5.2": "源代码详细实现",
    "5.3": "代码解读与分析", "5.4": "运行结果展示",
    "6": "实际应用场景", "6.4": "未来应用展望",
    "7": "工具和资源推荐", "7.1": "学习资源推荐", "7.2": "开发工具推荐", "7.3": "相关论文推荐",
    "7.4": "其他资源推荐",
    "8": "总结：未来发展趋势与挑战", "8.1": "研究成果总结", "8.2": "未来发展趋势", "8.3": "面临的挑战",
    "8.4": "研究展望",
    "9": "附录：常见问题与解答",
}
#: The sections with text of their own: each needs a row (§3, §4, §7, §8 only group subsections).
MUST_HAVE_A_ROW = [s for s in HEADINGS if s not in {"1", "3", "4", "5", "7", "8"}]

NOTEBOOKS = {p.name[:2]: p for p in sorted((REPO_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
SECTION = re.compile(r"§(\d+(?:\.\d+)?)")
HEADED = re.compile(r"§(\d+(?:\.\d+)?) ([^\s(（,，;；.。·]+)")    # "§1.2 研究现状": a number, then its heading
ARTICLE_LINE = "*Article · 原文:*"
TABLE_TITLE = "### Coverage · 覆盖范围"


def article_line(path: Path) -> str:
    """The first cell's line naming the article's sections."""
    first = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
    lines = [line for line in "".join(first["source"]).splitlines() if line.startswith(ARTICLE_LINE)]
    assert len(lines) == 1, f"{path.name}: the first cell needs one line starting {ARTICLE_LINE!r}"
    return lines[0]


def notebooks_in(cell: str, known: list[str]) -> set[str]:
    """``"01, 04–06, README"`` → ``{"01", "04", "05", "06"}``; ``"all"`` is every notebook, ``"—"`` none.

    >>> sorted(notebooks_in("01, 04–06, README", ["00", "01", "04", "05", "06", "07"]))
    ['01', '04', '05', '06']
    """
    out: set[str] = set()
    for token in (t.strip() for t in cell.split(",")):
        if token == "all":
            out |= set(known)
        elif m := re.fullmatch(r"(\d\d)[–-](\d\d)", token):
            out |= {n for n in known if m.group(1) <= n <= m.group(2)}
        elif re.fullmatch(r"\d\d", token):
            out.add(token)
        elif token not in {"—", "README", ""}:
            raise ValueError(f"coverage table: cannot read {token!r} as notebooks")
    return out


def coverage_rows(readme: str) -> list[tuple[str, list[str], set[str]]]:
    """The coverage table's rows: (first cell as written, its § numbers, the notebooks listed)."""
    assert TABLE_TITLE in readme, f"README.md has no {TABLE_TITLE!r} section"
    body = readme.split(TABLE_TITLE, 1)[1].split("\n#", 1)[0]
    rows = []
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or not SECTION.search(cells[0]):
            continue                                              # the header, the rule, prose
        rows.append((cells[0], SECTION.findall(cells[0]), notebooks_in(cells[1], list(NOTEBOOKS))))
    assert rows, "the coverage table has no rows"
    return rows


@pytest.fixture(scope="module")
def rows():
    return coverage_rows((REPO_DIR / "README.md").read_text(encoding="utf-8"))


def test_every_section_of_the_article_has_one_row(rows):
    numbers = [n for _, sections, _ in rows for n in sections]
    missing = [s for s in MUST_HAVE_A_ROW if s not in numbers]
    twice = sorted({n for n in numbers if numbers.count(n) > 1})
    unknown = [n for n in numbers if n not in HEADINGS]
    assert not missing and not twice and not unknown, (
        f"coverage table: sections without a row {missing}, in two rows {twice}, not in the article {unknown}")


def test_the_table_writes_the_articles_headings(rows):
    wrong = [(f"§{n}", heading, HEADINGS.get(n)) for first, _, _ in rows
             for n, heading in HEADED.findall(first) if HEADINGS.get(n) != heading]
    assert not wrong, f"coverage table: (section, heading written, the article's heading): {wrong}"


@pytest.mark.parametrize("number", NOTEBOOKS)
def test_the_first_cell_writes_the_articles_headings(number):
    line = article_line(NOTEBOOKS[number])
    unknown = [f"§{n}" for n in SECTION.findall(line) if n not in HEADINGS]
    wrong = [(f"§{n}", heading, HEADINGS.get(n)) for n, heading in HEADED.findall(line)
             if n in HEADINGS and HEADINGS[n] != heading]
    assert not unknown and not wrong, (
        f"{NOTEBOOKS[number].name}: sections not in the article {unknown}; "
        f"(section, heading written, the article's heading) {wrong}")


@pytest.mark.parametrize("number", list(NOTEBOOKS))
def test_the_table_and_the_first_cell_name_the_same_sections(number, rows):
    cited = set(SECTION.findall(article_line(NOTEBOOKS[number])))
    listed = {n for _, sections, notebooks in rows if number in notebooks for n in sections}
    assert cited == listed, (
        f"{NOTEBOOKS[number].name}: its first cell cites {sorted(cited - listed)} that the README's coverage "
        f"table does not list it for, and the table lists it for {sorted(listed - cited)} that its first "
        f"cell does not cite. Fix whichever side is wrong.")


def test_a_mismatch_is_caught():
    readme = (f"{TABLE_TITLE}\n\n| Article section | Taught in | How |\n|---|---|---|\n"
              "| §1.2 研究现状 | 01, 04 | x |\n| §7.2 开发工具推荐 | all | x |\n| §8.2 未来发展趋势 | — | x |\n\n## Next\n")
    rows = coverage_rows(readme)
    assert [(s, sorted(n)) for _, s, n in rows][0] == (["1.2"], ["01", "04"])
    assert rows[1][2] == set(NOTEBOOKS) and rows[2][2] == set()
    assert HEADED.findall("§5 项目实践 (the code)") == [("5", "项目实践")]
    assert HEADINGS["5"] != "项目实践"


def glossary_rows(markdown: str) -> list[str]:
    """The rows of the first table after a glossary heading, header included."""
    lines, started = [], False
    for line in markdown.splitlines():
        if line.startswith("|"):
            started = True
            lines.append(line.strip())
        elif started:
            break
    return lines


def test_notebook_00s_glossary_is_the_readmes():
    """Notebook 00's appendix repeats the README's glossary: the two must not drift apart."""
    readme = (REPO_DIR / "README.md").read_text(encoding="utf-8")
    ours = glossary_rows(readme.split("### Glossary · 术语表", 1)[1])
    cells = json.loads(NOTEBOOKS["00"].read_text(encoding="utf-8"))["cells"]
    appendix = ["".join(c["source"]) for c in cells if "".join(c["source"]).startswith("## Appendix: the article")]
    assert len(appendix) == 1, "notebook 00 has one appendix with the article's words"
    assert glossary_rows(appendix[0]) == ours, (
        "notebook 00's appendix and the README's glossary differ: copy the README's table into the appendix")
