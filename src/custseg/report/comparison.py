"""The page of ``custseg compare-methods``: the ranking and the recommendation."""

from __future__ import annotations

import html
from typing import Any


def _esc(x: Any) -> str:
    return html.escape(str(x))


def render_comparison(doc: dict[str, Any]) -> str:
    """A self-contained HTML page (no script, no request) from ``comparison.json``."""
    rows = []
    for i, r in enumerate(doc["results"]):
        flag = " <b>(not to be trusted)</b>"
        segs = "".join(
            f"<li>{_esc(name)}: Jaccard {jac:.2f}{flag if jac < 0.6 else ''}</li>"
            for name, jac in zip(r["segment_names"], r["jaccard"], strict=False))
        rows.append(
            f"<tr{' class=best' if i == 0 else ''}><td>{i + 1}</td><td><b>{_esc(r['algorithm'])}"
            f"</b></td><td>{r['k']}</td><td>{r['score']:.3f}</td><td>{r['stability']:.3f}</td>"
            f"<td>{r['silhouette']:.3f}</td><td>{r['coverage']:.1%}</td>"
            f"<td><ul>{segs}</ul></td><td>{_esc(r['k_explanation'])}</td></tr>")
    skipped = "".join(f"<li>{_esc(k)}: {_esc(v)}</li>" for k, v in doc["skipped"].items())
    w = doc["weights"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>custseg: comparing segmentation methods</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }} tr.best {{ background: #e6f4e6; }}
ul {{ margin: 0; padding-left: 1.2em; }}
footer {{ margin-top: 2em; font-size: 0.8em; color: #666; }}
</style></head><body>
<h1>Which segmentation to trust</h1>
<p>Recommended: <b>{_esc(doc['recommended'])}</b>: {_esc('; '.join(doc['reasons']))}.</p>
<table><tr><th>rank</th><th>method</th><th>k</th><th>score</th><th>stability (mean ARI)</th>
<th>silhouette (common space)</th><th>assigned</th><th>segments and their stability</th>
<th>how k was chosen</th></tr>
{''.join(rows)}</table>
<p>Score = share assigned × ({w['stability']} × stability + {w['silhouette']} × silhouette +
{w['stable_share']} × share of customers in stable segments). Stability: bootstrap re-fits on
80% subsamples; a segment whose mean Jaccard is below 0.6 is not to be trusted (Hennig 2007).</p>
{f'<p>Not compared:</p><ul>{skipped}</ul>' if skipped else ''}
<footer>{_esc(doc.get('command', ''))} · seed {_esc(doc.get('seed'))} · input sha256
{_esc(doc.get('input_sha256', ''))}</footer>
</body></html>
"""
