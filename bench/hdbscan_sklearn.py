"""Times scikit-learn's HDBSCAN on the data bench/hdbscan.ts wrote, in this process.

    python bench/hdbscan_sklearn.py <file.f64> <n> <d> <min_cluster_size> <algorithm>

Reads n×d little-endian float64 values, fits sklearn.cluster.HDBSCAN once to warm up on the
first 200 rows, then times one fit on all rows, and prints one JSON line: seconds (wall),
cpu seconds, peak RSS of this process in MB, number of clusters, and the sklearn version.
"""
import json
import resource
import sys
import time

import numpy as np
import sklearn
from sklearn.cluster import HDBSCAN


def main():
    path, n, d, mcs, algorithm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    X = np.fromfile(path, dtype="<f8").reshape(n, d)
    HDBSCAN(min_cluster_size=mcs, algorithm=algorithm).fit(X[:200])
    t0, c0 = time.perf_counter(), time.process_time()
    labels = HDBSCAN(min_cluster_size=mcs, algorithm=algorithm).fit(X).labels_
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": wall, "cpu": cpu, "rssMB": rss, "clusters": int(labels.max() + 1), "sklearn": sklearn.__version__}))


if __name__ == "__main__":
    main()
