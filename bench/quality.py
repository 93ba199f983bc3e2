"""The shipped models' quality, in one table: every metric figure a card in weights/ records (FID, KID,
precision, recall; per feature network and sample count n), each beside the real-data floor for the
same data, network and n (the card's "reference" rows: two disjoint halves of the real data against
each other, written by `python -m explorer.metrics --reference`). A retrained model is then compared
with the same numbers: measure it at the same network and n, and read its row against this one.

    python bench/quality.py                     # the table, from the cards alone (instant)
    python bench/quality.py --json              # the same rows as JSON
    python bench/quality.py --compute-missing   # also measure the floors no card records (a minute or so
                                                # per network and data set on a CPU; printed, not written)

Read-only over the weights folder: it never writes a card. A floor recorded at another n than the
model's is shown with its n ("0.25 @1000"), since FID and KID's bias depend on n; one recorded
nowhere is "—" (or, with --compute-missing, measured with explorer.metrics.evaluate.reference at the
model's n and marked "*")."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install needed
from explorer.paths import WEIGHTS  # noqa: E402

METRICS = ("fid", "kid", "precision", "recall")  # the card rows this table reads, in column order
DIGITS = {"fid": 3, "kid": 3, "precision": 2, "recall": 2}


def _latest(rows: list, metric: str, net: str, n: int | None) -> dict | None:
    """The last row (cards append) of this metric on this network, at sample count n (any n if None)."""
    found = [r for r in rows if isinstance(r, dict) and r.get("metric") == metric and r.get("net") == net
             and (n is None or r.get("n_fake") == n) and isinstance(r.get("value"), (int, float))]
    return found[-1] if found else None


def _floor(ref: list, metric: str, net: str, n: int) -> dict | None:
    """{"value", "n", "source"} of the floor for a model figure: at the same n if recorded, else the
    closest n recorded for this network."""
    row = _latest(ref, metric, net, n)
    if row is None:
        others = [r for r in ref if isinstance(r, dict) and r.get("metric") == metric and r.get("net") == net
                  and isinstance(r.get("value"), (int, float))]
        row = min(others, key=lambda r: abs(int(r.get("n_fake", 0)) - n), default=None)
    return None if row is None else {"value": float(row["value"]), "n": row.get("n_fake"), "source": "card"}


def quality_rows(weights: Path) -> list[dict]:
    """One row per shipped model, feature network and sample count: the model's figures and the floors."""
    out = []
    for card in sorted(Path(weights).glob("*.json")):
        try:
            meta = json.loads(card.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict) or "arch" not in meta:
            continue  # not a checkpoint's card
        train = meta.get("train", {}) if isinstance(meta.get("train"), dict) else {}
        rows = [r for r in meta.get("metrics", []) if isinstance(r, dict) and r.get("metric") in METRICS]
        ref = [r for r in meta.get("reference", []) if isinstance(r, dict)]
        groups = list(dict.fromkeys((str(r.get("net")), r.get("n_fake")) for r in rows))
        base = {"model": card.stem, "arch": meta["arch"], "data": train.get("data", "?"), "kimg": train.get("kimg"),
                "res": (meta.get("config") or {}).get("res") or (train.get("run_config") or {}).get("res"),
                "channels": (train.get("run_config") or {}).get("channels", 3)}
        if not groups:
            out.append({**base, "net": None, "n": None, "figures": {}})
            continue
        for net, n in groups:
            figures = {}
            for metric in METRICS:
                row = _latest(rows, metric, net, n)
                if row is not None:
                    figures[metric] = {"value": float(row["value"]), "floor": _floor(ref, metric, net, n)}
            out.append({**base, "net": net, "n": n, "figures": figures})
    return out


def compute_missing_floors(rows: list[dict]) -> None:
    """Fill in, in place, the floors no card records, with the metrics module's own reference() at each
    row's n and network; one measurement per (data, res, channels, net, n), shared by the rows that need it."""
    from explorer.metrics.evaluate import reference
    from explorer.metrics.features import load_feature_net

    done: dict[tuple, list[dict]] = {}
    for r in rows:
        missing = [m for m, f in r["figures"].items() if f["floor"] is None or f["floor"]["n"] != r["n"]]
        if not missing or r["data"] == "?":
            continue
        key = (r["data"], r["res"], r["channels"], r["net"], r["n"])
        if key not in done:
            net = load_feature_net(r["net"].split(":")[0], dataset=r["data"])
            wanted = tuple(dict.fromkeys("pr" if m in ("precision", "recall") else m for m in missing))
            done[key] = reference(r["data"], int(r["res"]), int(r["channels"]), wanted, int(r["n"]), [net])
        for m in missing:
            row = _latest(done[key], m, r["net"], None)
            if row is not None:
                r["figures"][m]["floor"] = {"value": float(row["value"]), "n": row["n_fake"], "source": "computed"}


def _cell(fig: dict | None, metric: str, n: int | None) -> str:
    if fig is None:
        return ""
    d = DIGITS[metric]
    floor = fig["floor"]
    if floor is None:
        ftext = "—"
    else:
        ftext = f"{floor['value']:.{d}g}" + ("" if floor["n"] == n else f" @{floor['n']}")
        ftext += "*" if floor["source"] == "computed" else ""
    return f"{fig['value']:.{d}g} ({ftext})"


def format_table(rows: list[dict]) -> str:
    lines = ["| model | data | kimg | net | n | FID (floor) | KID (floor) | precision (floor) | recall (floor) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        kimg = "" if r["kimg"] is None else f"{r['kimg']:.0f}"
        cells = " | ".join(_cell(r["figures"].get(m), m, r["n"]) for m in METRICS)
        lines.append(f"| `{r['model']}` | {r['data']} | {kimg} | {r['net'] or 'no metrics'} | {r['n'] or ''} | {cells} |")
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", default=str(WEIGHTS), help="the folder of cards (default: the checkout's weights/)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON instead of the table")
    p.add_argument("--compute-missing", action="store_true",
                   help="measure the floors no card records (real data vs real data, at the model's n; not written)")
    args = p.parse_args(argv)
    rows = quality_rows(Path(args.weights))
    if args.compute_missing:
        compute_missing_floors(rows)
    print(json.dumps({"bench": "quality", "weights": args.weights, "rows": rows}, indent=1) if args.json
          else format_table(rows))
    return rows


if __name__ == "__main__":
    main()
