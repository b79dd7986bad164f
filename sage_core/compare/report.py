"""``sage compare --report DIR``: one self-contained ``report.html`` plus its PNG figures.

The page links its images relatively, so DIR can be moved, zipped or served as is.
An inline script marks every image that failed to load (``data-image-status``), which
is what the browser test reads back from the rendered page.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Any

from sage_core.analysis import figures
from sage_core.atomic import write_text_atomic
from sage_core.compare.loading import RunRecord
from sage_core.compare.table import table_rows
from sage_core.rundir import RunDirectory

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; font-size: 14px; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; }
figure { margin: 1.5em 0; }
figcaption { color: #555; font-size: 14px; }
"""

_IMAGE_CHECK = """
window.addEventListener("load", function () {
  var images = document.querySelectorAll("img");
  var failed = 0;
  images.forEach(function (img) {
    var ok = img.complete && img.naturalWidth > 0;
    img.setAttribute("data-image-status", ok ? "loaded" : "failed");
    if (!ok) { failed += 1; }
  });
  var check = document.getElementById("image-check");
  check.setAttribute("data-total", String(images.length));
  check.setAttribute("data-failed", String(failed));
  check.textContent = failed ? failed + " image(s) failed to load" : "";
});
"""


def _figure(src: str, caption: str) -> str:
    return (f'<figure><img src="{html.escape(src)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _table(data: dict[str, Any]) -> str:
    head = "".join(f"<th>{html.escape(entry['label'])}</th>" for entry in data["runs"])
    body = "".join(
        f"<tr><th>{html.escape(name)}</th>{''.join(f'<td>{html.escape(cell)}</td>' for cell in cells)}</tr>"
        for name, cells in table_rows(data)
    )
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"


def _example_figures(records: list[RunRecord], out: Path) -> list[str]:
    """Copy each run's examples figure (written by ``evaluate_run``) into the report folder."""
    parts = []
    for index, record in enumerate(records):
        source = RunDirectory(record.path).figures / "examples.png"
        if source.is_file():
            name = f"examples-{index}.png"
            shutil.copyfile(source, out / name)
            where = "bottom" if record.evaluation.figure_origin == "lower" else "top"
            parts += [f"<h3>{html.escape(record.label)}</h3>",
                      _figure(name, f"{record.label}: input, puzzle (fixed palette, row 0 at the {where}, "
                                    "as in the input), reconstruction")]
        else:
            parts.append(f"<p>{html.escape(record.label)}: no examples figure in {html.escape(str(source))}; "
                         "re-run <code>sage evaluate</code> on it.</p>")
    return parts


def _probe_section(records: list[RunRecord], out: Path) -> list[str]:
    """The probe confusion figure of the runs with labelled data; a note when none has labels."""
    probed = {record.label: record.evaluation.probes for record in records if record.evaluation.probes is not None}
    if not probed:
        return ["<p>No run's data carries labels, so no probe was trained.</p>"]
    figures.confusion_matrices({label: figures.confusion_panels(probes.model_dump(mode="json"))
                                for label, probes in probed.items()}, out / "probe_confusion.png")
    return [
        "<p>A linear and a small convolutional classifier, the same recipe for every input, trained on each "
        "run's train split and scored on its held-out split: on the trained model's puzzles, the untrained "
        "model's, the baseline codec's, and the continuous model input (the ceiling). Chance is the share of "
        "the most common class.</p>",
        _figure("probe_confusion.png", "conv probe confusion per class (rows: true class, as shares of it): "
                                       "trained puzzles beside the model input"),
    ]


def write_report(records: list[RunRecord], data: dict[str, Any], out: Path) -> Path:
    """Write ``out/report.html`` and its figures; returns the HTML path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    by_label = {record.label: record for record in records}
    models = {label: record.evaluation.model_dump(mode="json")["models"] for label, record in by_label.items()}
    figures.training_curves({label: r.metrics for label, r in by_label.items()}, out / "training_curves.png")
    figures.code_histograms(
        {label: {kind: m["code_histogram"] for kind, m in runs.items()} for label, runs in models.items()},
        out / "code_histograms.png",
    )
    figures.code_intensity({label: runs["trained"]["intensity_by_code"] for label, runs in models.items()},
                           out / "code_intensity.png")
    figures.spatial_structure(models, out / "spatial_structure.png")
    sections = [
        "<h2>Summary</h2>", _table(data),
        "<p>Code statistics are computed over the whole held-out split (not averaged per batch). "
        "Ratios are trained / other in each modality's own primary metric.</p>",
        "<h2>Training</h2>",
        _figure("training_curves.png", "loss, code perplexity and validation loss"
                + (" against the fraction of each run's training" if len(records) > 1 else " per step")),
        "<h2>Codes</h2>",
        _figure("code_histograms.png", "share of each code: trained, untrained (same seed), baseline codec"),
        _figure("code_intensity.png", "decoded cell intensity per code value (box: quartiles, whiskers: 5-95%)"),
        "<h2>Examples</h2>", *_example_figures(records, out),
        "<h2>Spatial structure</h2>",
        _figure("spatial_structure.png", "entropy per cell and agreement of neighbouring cells along each axis"),
        "<h2>Probes: what a classifier can still read</h2>", *_probe_section(records, out),
    ]
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>sage compare</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>sage compare: {html.escape(', '.join(by_label))}</h1>"
        '<p id="image-check"></p>'
        + "\n".join(sections)
        + f"<script>{_IMAGE_CHECK}</script></body></html>\n"
    )
    return write_text_atomic(out / "report.html", page)
