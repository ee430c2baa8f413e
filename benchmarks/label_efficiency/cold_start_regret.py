"""Each cold-start method's distance to the best method of every (family, budget) cell.

Reads the markdown tables that ``cold_start.py`` prints (one log per family; the methods every log
shares are compared) and prints, per method, the mean and worst points of LP accuracy below the
cell's best method, and in how many cells it is best or within 1 point (results_held_out.md).

    python cold_start.py --family debian-role --seeds 3 4 5 --methods random kmeans_centre usl typiclust default > role.log
    python cold_start_regret.py role.log use.log ...
"""

from __future__ import annotations

import argparse
import re

import numpy as np

ROW = re.compile(r"^\| (\w+) \| (.*) \| [0-9.]+ s \|$")


def read_table(path: str) -> dict[str, np.ndarray]:
    """Method -> mean accuracy per budget, from the last table of a cold_start.py log."""
    rows: dict[str, np.ndarray] = {}
    with open(path) as log:
        for line in log:
            match = ROW.match(line.strip())
            if match and match.group(1) != "method":
                rows[match.group(1)] = np.array([float(cell.split("±")[0]) for cell in match.group(2).split("|")])
    if not rows:
        raise ValueError(f"{path}: no cold_start.py table found")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+", help="cold_start.py outputs, one family each")
    tables = [read_table(path) for path in parser.parse_args().logs]
    methods = [m for m in tables[0] if all(m in t for t in tables)]
    below = {m: np.concatenate([t[m] - np.max([t[o] for o in methods], axis=0) for t in tables]) for m in methods}
    print("| method | mean points below the cell's best | worst | cells where it is best or within 1 point |")
    print("|---|---|---|---|")
    for m in methods:
        print(f"| {m} | {below[m].mean():+.1f} | {below[m].min():+.1f} | {int(np.sum(below[m] >= -1.0))} of {below[m].size} |")


if __name__ == "__main__":
    main()
