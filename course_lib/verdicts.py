"""Verdict records: what each notebook measured, kept where the bench, the README and the 中文小结 read it.

A notebook calls :func:`record` beside every result its prose relies on (a paired comparison or a
measured value). Each record

- is written to ``outputs/verdicts/<notebook>@<scale>x.json`` (``scale`` = ``$COURSE_BUDGET_SCALE``),
  so ``./run.sh bench`` can assemble the README's robustness table (every verdict at 1× and at
  4× the budget) and the article's claims table from the runs themselves;
- prints how the same verdict fared at 4× the budget in the last bench
  (``benchmarks/robustness.json``), and fails when the notebook declared the verdict robust but
  the bench found that it changes (or the reverse) — so no prose can claim what 4× contradicts;
- can carry a Chinese line (``zh``) that :func:`summary_zh` prints at the end of the notebook as
  its 中文小结, rendered from the numbers of the same run.

>>> from course_lib.compare import paired_comparison
>>> c = paired_comparison([0.9, 0.92, 0.95], [0.8, 0.85, 0.86], "pretrained", "scratch")
>>> r = record("99", "demo/pretrained-vs-scratch", c, en="pretrained vs scratch on digits",
...            zh="预训练 − 从零训练 = {diff:+.3f}（95% 置信区间 {low:+.3f} 至 {high:+.3f}）：{verdict}",
...            names_zh=("预训练", "从零训练"), quiet=True)
>>> r.zh_line()
'预训练 − 从零训练 = +0.087（95% 置信区间 +0.049 至 +0.125）：预训练更好'
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .paths import REPO_DIR, output_dir

ROBUSTNESS_FILE = REPO_DIR / "benchmarks" / "robustness.json"

@dataclass(frozen=True)
class Claim:
    """One claim of the article: where it is, its words, an English gloss, and how the course tests it."""

    section: str
    zh: str
    en: str
    testable: bool = True
    why_not: str = ""                      # when it cannot be tested here: why
    evidence: tuple[str, ...] = ()         # other claims whose records also bear on this one
    #: records that test this claim although they were recorded without it: ("NN/key", side), the
    #: side ("a" or "b") whose win supports the claim (a reading of a measurement, not a number)
    links: tuple[tuple[str, str], ...] = ()


#: The article's claims, by id, in the article's order. Records name them with ``claim=``.
#: Each ``zh`` is the article's own words (``……`` marks a cut), found verbatim in every § listed.
CLAIMS: dict[str, Claim] = {
    "fewer-labels": Claim("§1.2, §3.3, §9", "可以显著减少所需的标记数据量",
                          "transfer learning significantly reduces the labelled data needed"),
    "less-compute": Claim("§1.2, §3.3, §9", "可以显著减少所需的……计算资源",
                          "transfer learning significantly reduces the computing resources needed"),
    "breaks-limits": Claim("§1.3, §8.1", "它打破了传统机器学习的局限性",
                           "it breaks the limits of traditional machine learning", testable=False,
                           why_not="no measurable quantity: which limits, against which baseline, is not said"),
    "more-complex": Claim("§1.3, §8.1", "使我们能够在有限的资源下解决更复杂的问题",
                          "it lets us solve more complex problems with limited resources",
                          evidence=("bert-text", "imagenet-vision")),
    "new-perspective": Claim("§1.3", "它还提供了一种新的视角来理解和设计深度学习模型",
                             "it offers a new perspective for understanding and designing deep models",
                             testable=False, why_not="a statement about understanding, not an outcome to measure"),
    "general-features": Claim("§2", "这个模型将学习到一些通用的特征表示",
                              "pretraining learns general feature representations",
                              links=tuple((f"08/gap/imagenet-vs-random-weights/k={k}", "a") for k in (1, 5, 10))
                              + (("11/seg/pretrained-vs-random", "a"),)),
    "part-or-all": Claim("§2, §3.2", "对预训练模型的部分或全部参数进行微调",
                         "fine-tune part or all of the pretrained model's parameters (and gain over "
                         "keeping them frozen)",
                         links=(("06/part-or-all/digits/full-vs-feature-extractor", "a"),
                                ("06/part-or-all/digits/last-vs-feature-extractor", "a"),
                                ("06/part-or-all/faces/full-vs-feature-extractor", "a"))),
    "shared-low-level": Claim("§3.1", "不同的任务都需要识别边缘、颜色和纹理等底层特征",
                              "different tasks share low-level features (edges, colours, textures)"),
    "generalisation": Claim("§3.3", "它还可以提高模型的泛化能力",
                            "it also improves the model's ability to generalise"),
    "model-choice": Claim("§3.3, §9", "它需要选择合适的预训练模型，这需要一定的领域知识和经验",
                          "it needs a suitable pretrained model, which takes domain knowledge and experience"),
    "task-gap": Claim("§3.3, §4.4, §9", "如果新任务与预训练模型的任务差异过大，Transfer Learning可能效果不佳",
                      "if the new task differs too much from the pretraining task, transfer may work poorly"),
    "relatedness": Claim("§4.4, §9", "其任务应该与新任务有一定的相关性",
                         "the pretrained model's task should be related to the new task"),
    "article-loop": Claim("§5.4", "经过100个epoch的训练后，我们可以得到一个在新任务上性能优秀的模型",
                          "after 100 epochs of training we get a model that performs excellently on the new task"),
    "bert-text": Claim("§6", "使用在大规模文本数据上预训练的BERT模型，来帮助解决文本分类、情感分析和命名实体识别等任务",
                       "a BERT pretrained on large text corpora helps text classification, sentiment and NER"),
    "imagenet-vision": Claim("§6", "使用在ImageNet上预训练的ResNet或VGG模型，来帮助解决图像分类、目标检测和语义分割等任务",
                             "ImageNet-pretrained CNNs help image classification, detection and segmentation"),
    "medical-outlook": Claim("§6.4", "在医疗图像分析中，我们可以使用在公开数据集上预训练的模型，来帮助解决疾病诊断和预后预测等任务",
                             "in medical image analysis, models pretrained on public data can help diagnosis and prognosis",
                             testable=False,
                             why_not="an outlook; no medical images ship offline with a licence for this course"),
    "driving-outlook": Claim("§6.4", "在无人驾驶中，我们可以使用在模拟环境中预训练的模型，来帮助解决道路识别和行人检测等任务",
                             "in autonomous driving, models pretrained in simulation can help road and pedestrian "
                             "detection", testable=False,
                             why_not="an outlook; no simulator or driving data ship offline with this course"),
    "significant-results": Claim("§8.1", "Transfer Learning已经在许多领域取得了显著的成果",
                                 "transfer learning has already achieved significant results in many fields",
                                 testable=False,
                                 why_not="a statement about the field's published record, which no experiment here "
                                         "reproduces; the course's own evidence across fields is in the rows of §6"),
    "choice-challenge": Claim("§8.3", "Transfer Learning的一个主要挑战是如何选择预训练模型。这需要一定的领域知识和经验",
                              "a main challenge is choosing the pretrained model, which takes domain knowledge "
                              "and experience", evidence=("model-choice",)),
    "gap-challenge": Claim("§8.3", "另一个挑战是如何处理新任务与预训练模型的任务差异过大的问题。这可能需要开发新的方法和技术",
                           "another challenge is handling a new task too different from the pretraining task, "
                           "which may need new methods", evidence=("task-gap",)),
}

SUPPORT_WORDS = {"supported": "支持", "not supported": "未获支持", "contradicted": "相反",
                 "depends on the budget": "取决于训练预算", "not testable here": "此处无法检验",
                 "not measured yet": "尚未测量"}


def _scale() -> float:
    from .loop import budget_scale

    return budget_scale()


def scale_tag(scale: float) -> str:
    """``"1x"``, ``"4x"``, ``"0.5x"``: the budget scale as it appears in file names.

    >>> scale_tag(1.0), scale_tag(4), scale_tag(0.5)
    ('1x', '4x', '0.5x')
    """
    return f"{scale:g}x"


@dataclass
class Record:
    """One measured result of one notebook."""

    notebook: str
    key: str
    en: str
    kind: str                          # "comparison" or "value"
    data: dict[str, Any]
    zh: str | None = None
    names_zh: tuple[str, str] | None = None
    claim: str | None = None
    supports: str | None = None        # "a" or "b": which side winning supports the claim
    budget_dependent: bool = False
    scale: float = 1.0
    order: int = 0
    status: str | None = None          # a value record's reading of its claim, computed by the notebook

    @property
    def verdict(self) -> str:
        return str(self.data.get("verdict", ""))

    def verdict_zh(self) -> str:
        """The verdict in Chinese (``A更好`` / ``B更好`` / ``无可检测差异（n = 5）``)."""
        if self.kind != "comparison":
            return ""
        a_zh, b_zh = self.names_zh or (self.data["a"], self.data["b"])
        if self.verdict == f"{self.data['a']} better":
            return f"{a_zh}更好"
        if self.verdict == f"{self.data['b']} better":
            return f"{b_zh}更好"
        return f"无可检测差异（n = {self.data['n']}）"

    def zh_line(self) -> str | None:
        """The Chinese line with this run's numbers (``{diff}``, ``{low}``, ``{high}``, ``{verdict}``,
        ``{mean_a}``, ``{mean_b}``, ``{n}``, ``{value}`` …), or None when the record has none."""
        if self.zh is None:
            return None
        fields = dict(self.data)
        if self.kind == "comparison":
            fields.update(diff=self.data["difference"], verdict=self.verdict_zh())
        return self.zh.format(**fields)

    def claim_status(self) -> str | None:
        """What this verdict says of its claim: supported, not supported or contradicted."""
        if self.claim is None:
            return None
        if self.kind != "comparison" or self.supports not in ("a", "b"):
            return self.status
        winner = self.data["a" if self.supports == "a" else "b"]
        loser = self.data["b" if self.supports == "a" else "a"]
        if self.verdict == f"{winner} better":
            return "supported"
        if self.verdict == f"{loser} better":
            return "contradicted"
        return "not supported"


_RECORDS: dict[str, dict[str, Record]] = {}


def _as_data(result: Any) -> tuple[str, dict[str, Any]]:
    if hasattr(result, "to_dict") and hasattr(result, "verdict"):
        return "comparison", result.to_dict()
    if isinstance(result, dict):
        return "value", dict(result)
    if isinstance(result, (int, float)):
        return "value", {"value": float(result)}
    raise TypeError(f"record() takes a Comparison, a number or a dict of numbers, got {type(result).__name__}.")


def _write_atomically(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(payload, f, ensure_ascii=False, indent=1)
    os.replace(tmp, path)


def records_file(notebook: str, scale: float | None = None) -> Path:
    """Where :func:`record` writes a notebook's records at a budget scale."""
    return output_dir("verdicts") / f"{notebook}@{scale_tag(_scale() if scale is None else scale)}.json"


def robustness_at(notebook: str, key: str, path: Path = ROBUSTNESS_FILE) -> dict[str, Any] | None:
    """The last bench's entry for one verdict (its 1× and 4× verdicts), or None if it has none."""
    if not path.is_file():
        return None
    table = json.loads(path.read_text(encoding="utf-8"))
    entry = table.get("verdicts", {}).get(f"{notebook}/{key}")
    # the date of the bench run that checked this verdict (files written before entries had their
    # own date: the file's)
    return None if entry is None else {"date": table.get("date", "?"), **entry}


def record(notebook: str, key: str, result: Any, *, en: str, zh: str | None = None,
           names_zh: tuple[str, str] | None = None, claim: str | None = None, supports: str | None = None,
           budget_dependent: bool = False, status: str | None = None, quiet: bool = False) -> Record:
    """Keep one result of ``notebook`` under ``key``, write it to disk, and check it against the bench.

    ``result``: a :class:`course_lib.compare.Comparison`, a number, or a dict of numbers.
    ``en``: what it is, in one English line. ``zh``: the line for the 中文小结, a format string
    filled from the result (see :meth:`Record.zh_line`). ``claim``: the id of the article's claim
    it tests (:data:`CLAIMS`), with ``supports="a"`` or ``"b"``: which arm winning supports it.
    ``budget_dependent``: the notebook's declaration that this verdict changes at 4× the budget
    (its prose then says so). ``status``: for a value with a claim, what the value says of it
    ("supported", "not supported" or "contradicted"), computed in the notebook from the numbers
    (e.g. ``"supported" if speedup > 2 else "not supported"``).
    At the course's budget (scale 1) the declaration is checked against
    the last bench's 4× run, and a mismatch raises ``AssertionError``: re-read the 4× verdict and
    fix the prose and the declaration together.
    """
    if claim is not None and claim not in CLAIMS:
        raise ValueError(f"Unknown claim {claim!r}; the claims are {sorted(CLAIMS)}.")
    from .errors import check_option

    check_option("supports", supports, (None, "a", "b"))
    check_option("status", status, (None, "supported", "not supported", "contradicted"))
    kind, data = _as_data(result)
    scale = _scale()
    book = _RECORDS.setdefault(notebook, {})
    rec = Record(notebook=notebook, key=key, en=en, kind=kind, data=data, zh=zh, names_zh=names_zh,
                 claim=claim, supports=supports, budget_dependent=budget_dependent, scale=scale,
                 order=book[key].order if key in book else len(book), status=status)
    if zh is not None:
        rec.zh_line()                  # a wrong placeholder fails here, not in the summary
    book[key] = rec
    _write_atomically(records_file(notebook, scale),
                      {k: asdict(r) for k, r in sorted(book.items(), key=lambda kv: kv[1].order)})
    if kind == "comparison" and scale == 1.0:
        bench = robustness_at(notebook, key)
        if bench is not None and bench.get("at_4x"):
            changes = bench["at_4x"] != bench["at_1x"]
            if not quiet and bench["at_1x"] != rec.verdict:   # another machine, or changed code
                print(f"   ↳ the bench of {bench.get('date', '?')} found “{bench['at_1x']}” at this budget and "
                      f"“{bench['at_4x']}” at 4×: this run's verdict differs, so its 4× check does not "
                      "apply (benchmarks/robustness.py re-runs it)")
            elif not quiet:
                note = ("the same verdict" if not changes else
                        f"“{bench['at_4x']}”: this verdict depends on the budget")
                print(f"   ↳ at 4× the budget (bench of {bench.get('date', '?')}): {note}")
            if bench["at_1x"] == rec.verdict and changes != budget_dependent:
                raise AssertionError(
                    f"{notebook}/{key}: declared budget_dependent={budget_dependent}, but the last bench found the "
                    f"verdict {'changes' if changes else 'holds'} at 4× the budget ({bench['at_1x']!r} → "
                    f"{bench['at_4x']!r}). Fix the declaration and the prose that depends on it.")
    return rec


def records_of(notebook: str) -> list[Record]:
    """This process's records of ``notebook``, in the order they were first made."""
    return sorted(_RECORDS.get(notebook, {}).values(), key=lambda r: r.order)


def summary_zh(notebook: str, title: str = "中文小结") -> str:
    """The notebook's 中文小结: its Chinese lines, with this run's numbers. Returns the text.

    >>> _ = record("98", "demo/accuracy", 0.912, en="test accuracy", zh="测试准确率 {value:.3f}", quiet=True)
    >>> print(summary_zh("98"))
    中文小结
    - 测试准确率 0.912
    """
    lines = [line for r in records_of(notebook) if (line := r.zh_line())]
    if not lines:
        raise ValueError(f"Notebook {notebook} has recorded no result with a Chinese line (zh=...).")
    return "\n".join([title] + [f"- {line}" for line in lines])


def load(folder: Path | None = None, scale: float = 1.0) -> dict[str, dict[str, Record]]:
    """Every notebook's records at ``scale`` from ``folder`` (default: ``outputs/verdicts``)."""
    folder = folder or output_dir("verdicts")
    out: dict[str, dict[str, Record]] = {}
    for path in sorted(folder.glob(f"*@{scale_tag(scale)}.json")):
        notebook = path.name.split("@")[0]
        raw = json.loads(path.read_text(encoding="utf-8"))
        out[notebook] = {k: Record(**{**v, "names_zh": tuple(v["names_zh"]) if v.get("names_zh") else None})
                         for k, v in raw.items()}
    return out


@dataclass
class RobustnessRow:
    """One verdict at the course's budget and at 4× it."""

    notebook: str
    key: str
    en: str
    at_1x: str
    at_4x: str | None
    declared_dependent: bool
    numbers_1x: str = ""
    numbers_4x: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def changes(self) -> bool | None:
        return None if self.at_4x is None else self.at_4x != self.at_1x

    @property
    def consistent(self) -> bool:
        """The notebook's declaration agrees with what the 4× run found."""
        return self.changes is None or self.changes == self.declared_dependent


def _numbers(data: dict[str, Any]) -> str:
    return f"{data['difference']:+.3f} ({data['low']:+.3f}, {data['high']:+.3f})"


def robustness_rows(ones: dict[str, dict[str, Record]], fours: dict[str, dict[str, Record]]) -> list[RobustnessRow]:
    """Pair every comparison recorded at 1× with the same key at 4× (None when the 4× run lacks it)."""
    rows = []
    for notebook in sorted(ones):
        for rec in sorted(ones[notebook].values(), key=lambda r: r.order):
            if rec.kind != "comparison":
                continue
            other = fours.get(notebook, {}).get(rec.key)
            rows.append(RobustnessRow(notebook, rec.key, rec.en, rec.verdict, other.verdict if other else None,
                                      rec.budget_dependent, _numbers(rec.data),
                                      _numbers(other.data) if other else ""))
    return rows


BENCH = "by `./run.sh bench`"
TABLES = ("by `benchmarks/robustness.py --tables` from the records each notebook's last runs kept "
          "(`benchmarks/verdicts/`)")


def robustness_markdown(rows: list[RobustnessRow], when: str, source: str = BENCH) -> str:
    """The README's robustness table: one row per printed verdict, at 1× and at 4× the budget."""
    changed = sum(1 for r in rows if r.changes)
    lines = [f"Assembled {when} {source}: notebooks 06–11 run at the course's budget and again with "
             f"`COURSE_BUDGET_SCALE=4` (every step cap and fixed epoch count × 4). {len(rows)} verdicts; "
             f"{changed} change at 4× and are reported in their notebook as depending on the budget. "
             "Intervals are 95 % and unadjusted; verdicts are Holm-adjusted within each family of "
             "comparisons, so an interval that just misses 0 can still read \"no detectable difference\".",
             "",
             "| notebook | comparison | at 1× (difference, 95 % CI) | verdict at 1× | at 4× | verdict at 4× | "
             "depends on the budget |",
             "|---|---|---|---|---|---|:---:|"]
    for r in rows:
        mark = "—" if r.changes is None else ("yes" if r.changes else "no")
        lines.append(f"| {r.notebook} | {r.en} | {r.numbers_1x} | {r.at_1x} | {r.numbers_4x or '—'} | "
                     f"{r.at_4x or 'not run'} | {mark} |")
    return "\n".join(lines)


def robustness_json(rows: list[RobustnessRow], when: str) -> dict[str, Any]:
    """What :func:`record` reads back: ``{"date", "verdicts": {"<nb>/<key>": {"at_1x", "at_4x", "date", …}}}``;
    each verdict carries the date of the bench run that checked it (``when`` for these rows)."""
    return {"date": when, "verdicts": {f"{r.notebook}/{r.key}": {"en": r.en, "at_1x": r.at_1x, "at_4x": r.at_4x,
                                                                  "declared_dependent": r.declared_dependent,
                                                                  "date": when}
                                       for r in rows}}


# --------------------------------------------------------------------------- the claims table

@dataclass
class ClaimRow:
    """One piece of evidence on one claim: a record at 1× (and its twin at 4×, for comparisons)."""

    claim_id: str
    claim: Claim
    record: Record | None
    at_4x: Record | None = None

    @property
    def status(self) -> str:
        if self.record is None:
            return "not testable here" if not self.claim.testable else "not measured yet"
        one = self.record.claim_status() or "not supported"
        if self.at_4x is not None and self.record.kind == "comparison":
            four = self.at_4x.claim_status() or "not supported"
            if four != one:
                return "depends on the budget"
        return one


def _numbers_of(rec: Record) -> str:
    if rec.kind == "comparison":
        d = rec.data
        return f"{d['a']} − {d['b']} = {d['difference']:+.3f} (95 % CI {d['low']:+.3f} to {d['high']:+.3f})"
    return ", ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in rec.data.items())


def claim_rows(ones: dict[str, dict[str, Record]], fours: dict[str, dict[str, Record]]) -> list[ClaimRow]:
    """Every claim of :data:`CLAIMS` with the records that test it (claims tested by others' records
    through ``evidence`` list those too), in the article's order."""
    by_claim: dict[str, list[Record]] = {}
    for notebook in sorted(ones):
        for rec in sorted(ones[notebook].values(), key=lambda r: r.order):
            if rec.claim:
                by_claim.setdefault(rec.claim, []).append(rec)
    def linked(records: dict[str, dict[str, Record]], ref: str, cid: str, side: str) -> Record | None:
        notebook, key = ref.split("/", 1)
        rec = records.get(notebook, {}).get(key)
        return None if rec is None else replace(rec, claim=cid, supports=rec.supports or side)

    rows = []
    for cid, claim in CLAIMS.items():
        evidence = [(r, fours.get(r.notebook, {}).get(r.key)) for r in by_claim.get(cid, [])]
        evidence += [(r, fours.get(r.notebook, {}).get(r.key))
                     for other in claim.evidence for r in by_claim.get(other, [])]
        sides = dict(claim.links)
        evidence = [(r, f) if r.supports or f"{r.notebook}/{r.key}" not in sides else
                    (replace(r, supports=sides[f"{r.notebook}/{r.key}"]),
                     f and replace(f, supports=sides[f"{r.notebook}/{r.key}"]))
                    for r, f in evidence]
        ids = {(r.notebook, r.key) for r, _ in evidence}
        for ref, side in claim.links:
            rec = linked(ones, ref, cid, side)
            if rec is not None and (rec.notebook, rec.key) not in ids:
                evidence.append((rec, linked(fours, ref, cid, side)))
        if not evidence:
            rows.append(ClaimRow(cid, claim, None))
        for rec, four in evidence:
            rows.append(ClaimRow(cid, claim, rec, four))
    return rows


def claims_markdown(rows: list[ClaimRow], when: str, source: str = BENCH) -> str:
    """The README's claims table, in Chinese and English, from the rows of :func:`claim_rows`."""
    lines = [f"Assembled {when} {source} from the verdicts the notebooks recorded "
             "(`benchmarks/verdicts/`); no number here is typed by hand. "
             "根据各笔记本运行时记录的结果自动生成（`benchmarks/verdicts/`），表中数字均非手工填写。",
             "",
             "| § | 原文 (article) | claim | tested in | measured (1×) | verdict · 结论 |",
             "|---|---|---|---|---|---|"]
    last = None
    for row in rows:
        first = row.claim_id != last
        last = row.claim_id
        sec = row.claim.section if first else ""
        zh = f"“{row.claim.zh}”" if first else ""
        en = row.claim.en if first else ""
        if row.record is None:
            where = "—"
            measured = row.claim.why_not or "—"
        else:
            where = f"{row.record.notebook}: {row.record.en}"
            measured = _numbers_of(row.record)
        status = row.status
        lines.append(f"| {sec} | {zh} | {en} | {where} | {measured} | {status} · "
                     f"{SUPPORT_WORDS.get(status, status)} |")
    return "\n".join(lines)


def summaries_markdown(ones: dict[str, dict[str, Record]]) -> str:
    """Every notebook's 中文小结, as the notebooks printed them, for the README."""
    out = []
    for notebook in sorted(ones):
        recs = sorted(ones[notebook].values(), key=lambda r: r.order)
        lines = [line for r in recs if (line := r.zh_line())]
        if lines:
            out.append(f"**{notebook}**\n" + "\n".join(f"- {line}" for line in lines))
    return "\n\n".join(out)
