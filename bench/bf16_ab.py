"""Per-round ratios of bench/bf16_ab.sh rows: each torch-bf16 variant / PyTorch autocast, wall and CPU time.
   /usr/bin/python3 bench/bf16_ab.py rows.tsv"""
import statistics
import sys
from collections import defaultdict

rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines() if l.strip()]
t = defaultdict(dict)  # (workload, round) -> variant -> (wall, cpu)
for r, w, v, wall, cpu in rows:
    t[(w, int(r))][v] = (float(wall), float(cpu) if cpu else float("nan"))
workloads = sorted({w for w, _ in t}, key=lambda w: ["W1", "W2", "G", "U"].index(w) if w in ["W1", "W2", "G", "U"] else 9)
variants = sorted({v for d in t.values() for v in d if v != "autocast"})
for w in workloads:
    rounds = sorted(r for ww, r in t if ww == w)
    for v in variants:
        wall = [t[(w, r)][v][0] / t[(w, r)]["autocast"][0] for r in rounds if v in t[(w, r)] and "autocast" in t[(w, r)]]
        cpu = [t[(w, r)][v][1] / t[(w, r)]["autocast"][1] for r in rounds if v in t[(w, r)] and "autocast" in t[(w, r)]]
        ms = [t[(w, r)][v][0] for r in rounds if v in t[(w, r)]]
        ac = [t[(w, r)]["autocast"][0] for r in rounds if "autocast" in t[(w, r)]]
        print(f"{w}\t{v}\tms {statistics.median(ms):.2f} vs autocast {statistics.median(ac):.2f}\t"
              f"wall ratio per round {' '.join(f'{x:.2f}' for x in wall)} (median {statistics.median(wall):.2f})\t"
              f"cpu ratio per round {' '.join(f'{x:.2f}' for x in cpu)} (median {statistics.median(cpu):.2f})")
