/**
 * HDBSCAN (Campello, Moulavi & Sander 2013) as scikit-learn's `sklearn.cluster.HDBSCAN` (1.3+)
 * computes it with `algorithm="brute"`, step for step:
 *  1. core distance of a point = Euclidean distance to its `minSamples`-th nearest neighbour,
 *     the point itself counted (so minSamples = 1 gives 0); minSamples defaults to minClusterSize;
 *  2. mutual reachability d_mr(a,b) = max(core(a), core(b), d(a,b));
 *  3. a minimum spanning tree by Prim's algorithm from point 0, scanning the points not yet in
 *     the tree in ascending index order and taking the first minimum; edges stably sorted by
 *     weight;
 *  4. the single-linkage hierarchy by union–find, the condensed tree by `minClusterSize`,
 *     stabilities, cluster selection by excess of mass (`eom`) or `leaf`, with
 *     `clusterSelectionEpsilon` and `allowSingleCluster` as sklearn 1.9 defines them;
 *  5. labels (−1 = outlier) and membership probabilities (λ of the point, capped at the
 *     cluster's death λ, divided by it). Cluster ids follow the condensed tree's cluster order.
 *
 * Reference agreement (tests/unit/hdbscan.test.ts, fixtures by
 * scripts/fixtures/make_hdbscan_fixtures.py): labels identical up to renaming and probabilities
 * within 1e-12 of scikit-learn's own pipeline and of the `hdbscan` package's own pipeline, both
 * fed direct distances and a stable edge sort, on 7 data sets × 4–6 settings.
 *
 * Conventions, where scikit-learn and the `hdbscan` package (scikit-learn-contrib) differ —
 * we follow scikit-learn throughout, because it is the maintained reference the method names:
 *  - min_samples: sklearn counts the point itself, the `hdbscan` package does not; our
 *    minSamples = k equals the package's min_samples = k − 1 (the fixtures run it that way).
 *    The package also silently caps min_samples at n − 1; we, like sklearn, refuse n < minSamples.
 *  - MST edges: sklearn records each Prim step as (point just added, new point), the package as
 *    (true tree neighbour, new point). Both give the same single-linkage level sets; we record
 *    sklearn's, so merges at equal heights pair up as in sklearn.
 *  - death λ for probabilities: sklearn takes the largest λ of a cluster's last run of
 *    consecutive condensed-tree rows, the package the largest over all its rows. We follow
 *    sklearn; on every fixture the two coincide.
 *  - distances: both libraries' public `fit` compute ‖a‖²+‖b‖²−2a·b (off by up to 1e-8 on
 *    duplicated points) and sort the MST edges with an unstable argsort. Mutual-reachability
 *    ties are common (every point's core distance appears many times), so both details flip
 *    ties: the public APIs give the same labels as ours in 33 of 38 fixture cases (sklearn) and
 *    32 of 38 (package). We compute every distance directly,
 *    sqrt(Σ_k (a_k − b_k)²) in ascending k with one accumulator (scipy's cdist order), and sort
 *    stably, so results are deterministic and independent of thread count.
 *
 * Ties and input order: mutual-reachability ties are the rule (a point's core distance is
 * shared by all its close pairs), and where edges tie, Prim's choice and the order of equal-height
 * merges follow the point order. The same points in another order can then give another
 * hierarchy — typically one tied point moved between a cluster and the outliers. Passing `ids`
 * makes the order canonical: points are processed by ascending id, so the same (id, point) pairs
 * give the same labels and probabilities in any input order (tests/unit/hdbscan.test.ts). The
 * cluster step passes the token ids.
 *
 * Degenerate input: fewer than 2 points, n < minSamples, a non-finite value, trajectories of
 * length 0 or of unequal lengths throw an Error naming the trajectory. All-identical points
 * (all distances 0, λ = ∞) give all outliers, or with allowSingleCluster one cluster with
 * probability 1; n ≤ minClusterSize (minSamples ≤ n) gives all outliers unless
 * allowSingleCluster — both as scikit-learn.
 *
 * Cost: distances O(n²d), Prim O(n²). The n×n float64 matrix is kept while it fits in
 * `matrixBytes` (default 2 GiB, n ≤ 16384); above, core distances are computed from blocks of
 * rows and Prim recomputes d(current, j) only where it can still lower j's reachability (see
 * primRecompute); results are bitwise the same. The distance and core-distance phase runs on
 * `threads` threads (default 2 when the work is large enough to pay for a worker), the calling
 * thread included; `hdbscan` stays synchronous. The distance kernels and their threads are in
 * ./hdbscan-kernel.ts; this file holds the options, Prim's tree, the hierarchy and the selection.
 */

import { availableParallelism } from 'node:os';
import { BLOCK, distances, kernels } from './hdbscan-kernel.ts';

export interface HdbscanOptions {
  minClusterSize: number;
  /** Defaults to minClusterSize. Counts the point itself (scikit-learn's convention). */
  minSamples?: number;
  selection?: 'eom' | 'leaf';
  allowSingleCluster?: boolean;
  clusterSelectionEpsilon?: number;
  /** Threads for the distance and core-distance phase (the calling thread included). Default min(2, cores). */
  threads?: number;
  /** Largest n×n float64 distance matrix to keep, in bytes (default 2 GiB); above, rows are recomputed. */
  matrixBytes?: number;
  /**
   * Distinct integer ids of the points, one per point. The points are processed in ascending id
   * order, so ties fall the same way whatever order the points are passed in: permuting points
   * and ids together permutes the labels and probabilities and changes nothing else. Without
   * ids the input order is the canonical order (as scikit-learn).
   */
  ids?: ArrayLike<number>;
}

export interface HdbscanResult {
  labels: Int32Array;
  probabilities: Float64Array;
  /** Number of clusters (labels 0..nClusters−1; −1 = outlier). */
  nClusters: number;
  /** Condensed tree rows, for inspection: parent, child, lambda, size. */
  condensed: { parent: Int32Array; child: Int32Array; lambda: Float64Array; size: Int32Array };
}

const DEFAULT_MATRIX_BYTES = 2 * 1024 ** 3;
/** Below this many pair-dimension products a second thread costs more than it saves. */
const PARALLEL_WORK = 5e7;

export function validateTrajectories(points: ArrayLike<number>[], opts: HdbscanOptions): void {
  if (!Array.isArray(points)) throw new Error('HDBSCAN expects an array of trajectories (one array of numbers per token)');
  const n = points.length;
  if (!Number.isInteger(opts.minClusterSize) || opts.minClusterSize < 2) {
    throw new Error(`minClusterSize must be an integer ≥ 2; got ${opts.minClusterSize}`);
  }
  const ms = opts.minSamples ?? opts.minClusterSize;
  if (!Number.isInteger(ms) || ms < 1) throw new Error(`minSamples must be an integer ≥ 1; got ${ms}`);
  if (n < 2) throw new Error(`HDBSCAN needs at least 2 points; got ${n}`);
  if (n < ms) {
    throw new Error(
      `HDBSCAN needs at least minSamples = ${ms} points${opts.minSamples === undefined ? ' (minSamples defaults to minClusterSize)' : ''}; got ${n}`,
    );
  }
  const eps = opts.clusterSelectionEpsilon ?? 0;
  if (!Number.isFinite(eps) || eps < 0) throw new Error(`clusterSelectionEpsilon must be a finite number ≥ 0; got ${eps}`);
  if (opts.selection !== undefined && opts.selection !== 'eom' && opts.selection !== 'leaf') {
    throw new Error(`selection must be 'eom' or 'leaf'; got ${String(opts.selection)}`);
  }
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1)) {
    throw new Error(`threads must be an integer ≥ 1; got ${opts.threads}`);
  }
  const d = points[0]?.length;
  if (d === undefined) throw new Error('trajectory 0 is not an array of numbers');
  if (d === 0) throw new Error('HDBSCAN needs trajectories of length ≥ 1; got length 0');
  for (let i = 0; i < n; i++) {
    const p = points[i];
    if (p == null || typeof p.length !== 'number') throw new Error(`trajectory ${i} is not an array of numbers`);
    if (p.length !== d) throw new Error(`trajectory ${i} has length ${p.length}, expected ${d} like trajectory 0`);
    for (let k = 0; k < d; k++) {
      const v = p[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`trajectory ${i} has a non-finite value ${v} at position ${k}`);
    }
  }
}

interface Condensed {
  parent: number[];
  child: number[];
  lambda: number[];
  size: number[];
}

/**
 * HDBSCAN of `points` (one trajectory per point). With `opts.ids`, the points are first put in
 * ascending id order and the results mapped back (see HdbscanOptions.ids); the condensed tree's
 * point children are then given as input positions.
 */
export function hdbscan(points: ArrayLike<number>[], opts: HdbscanOptions): HdbscanResult {
  if (opts.ids === undefined) return hdbscanInOrder(points, opts);
  const order = canonicalOrder(opts.ids, Array.isArray(points) ? points.length : -1);
  const res = hdbscanInOrder(
    Array.from(order, (i) => points[i]),
    { ...opts, ids: undefined },
  );
  const n = order.length;
  const labels = new Int32Array(n);
  const probabilities = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    labels[order[k]] = res.labels[k];
    probabilities[order[k]] = res.probabilities[k];
  }
  const child = Int32Array.from(res.condensed.child, (c) => (c < n ? order[c] : c));
  return { labels, probabilities, nClusters: res.nClusters, condensed: { ...res.condensed, child } };
}

/** Input positions sorted by ascending id; the ids must be distinct finite integers, one per point. */
export function canonicalOrder(ids: ArrayLike<number>, n: number): Int32Array {
  if (ids == null || typeof ids.length !== 'number') throw new Error('ids must be an array of integers, one per point');
  if (n >= 0 && ids.length !== n) throw new Error(`ids must have one entry per point: ${ids.length} ids for ${n} points`);
  const seen = new Set<number>();
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (!Number.isSafeInteger(v)) throw new Error(`ids must be integers; ids[${i}] = ${v}`);
    if (seen.has(v)) throw new Error(`ids must be distinct; ${v} appears twice`);
    seen.add(v);
  }
  return Int32Array.from({ length: ids.length }, (_, i) => i).sort((a, b) => ids[a] - ids[b]);
}

function hdbscanInOrder(points: ArrayLike<number>[], opts: HdbscanOptions): HdbscanResult {
  validateTrajectories(points, opts);
  const n = points.length;
  const d = points[0].length;
  const minSamples = opts.minSamples ?? opts.minClusterSize;
  const flat = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const p = points[i];
    for (let k = 0; k < d; k++) flat[i * d + k] = p[k];
  }
  const keepMatrix = n * n * 8 <= (opts.matrixBytes ?? DEFAULT_MATRIX_BYTES);
  const work = (keepMatrix ? 0.5 : 1) * n * n * d;
  const threads = Math.min(opts.threads ?? (work < PARALLEL_WORK ? 1 : Math.min(2, availableParallelism())), Math.ceil(n / BLOCK));
  const { P, D, core } = distances(flat, n, d, minSamples, threads, keepMatrix);
  const { from, to, weight } = D ? primMatrix(D, core, n) : primRecompute(P, core, n, d);

  // single linkage: edges stably sorted by weight, union–find, new node ids n, n+1, …
  const order = Array.from({ length: n - 1 }, (_, i) => i).sort((a, b) => weight[a] - weight[b] || a - b);
  const ufParent = new Int32Array(2 * n - 1);
  const ufSize = new Int32Array(2 * n - 1);
  for (let i = 0; i < 2 * n - 1; i++) {
    ufParent[i] = i;
    ufSize[i] = i < n ? 1 : 0;
  }
  const find = (x: number) => {
    let r = x;
    while (ufParent[r] !== r) r = ufParent[r];
    while (ufParent[x] !== r) {
      const nx = ufParent[x];
      ufParent[x] = r;
      x = nx;
    }
    return r;
  };
  const slLeft = new Int32Array(n - 1);
  const slRight = new Int32Array(n - 1);
  const slDist = new Float64Array(n - 1);
  const slSize = new Int32Array(n - 1);
  for (let i = 0; i < n - 1; i++) {
    const e = order[i];
    const a = find(from[e]);
    const b = find(to[e]);
    slLeft[i] = a;
    slRight[i] = b;
    slDist[i] = weight[e];
    const s = ufSize[a] + ufSize[b];
    slSize[i] = s;
    const node = n + i;
    ufParent[a] = node;
    ufParent[b] = node;
    ufSize[node] = s;
  }

  const cond = condenseTree(n, slLeft, slRight, slDist, slSize, opts.minClusterSize);
  const { labels, probabilities, nClusters } = selectAndLabel(n, cond, {
    selection: opts.selection ?? 'eom',
    allowSingleCluster: opts.allowSingleCluster ?? false,
    epsilon: opts.clusterSelectionEpsilon ?? 0,
  });
  return {
    labels,
    probabilities,
    nClusters,
    condensed: {
      parent: Int32Array.from(cond.parent),
      child: Int32Array.from(cond.child),
      lambda: Float64Array.from(cond.lambda),
      size: Int32Array.from(cond.size),
    },
  };
}

/**
 * Prim's algorithm on the dense mutual-reachability graph as scikit-learn's
 * mst_from_mutual_reachability runs it: start at point 0; the points not yet in the tree are
 * kept in ascending index order, each step lowers their best reachability with the row of the
 * point just added and takes the first minimum; the edge is recorded as (point just added,
 * new point, that minimum). This is a spanning path, not the tree's true edges, but every
 * single-linkage level set is a run of consecutive points in Prim's order, so the hierarchy is
 * the same; we record it as sklearn does so that merges at equal heights come out alike.
 */
function primMatrix(D: Float64Array, core: Float64Array, n: number) {
  const left = new Int32Array(n - 1);
  for (let j = 1; j < n; j++) left[j - 1] = j;
  let m = n - 1;
  const minReach = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const from = new Int32Array(n - 1);
  const to = new Int32Array(n - 1);
  const weight = new Float64Array(n - 1);
  let current = 0;
  for (let step = 0; step < n - 1; step++) {
    const base = current * n;
    const cc = core[current];
    let best = Number.POSITIVE_INFINITY;
    let bestIdx = 0;
    for (let q = 0; q < m; q++) {
      const j = left[q];
      let mr = D[base + j];
      if (cc > mr) mr = cc;
      const cj = core[j];
      if (cj > mr) mr = cj;
      let r = minReach[j];
      if (mr < r) minReach[j] = r = mr;
      if (r < best) {
        best = r;
        bestIdx = q;
      }
    }
    const next = left[bestIdx];
    from[step] = current;
    to[step] = next;
    weight[step] = best;
    left.copyWithin(bestIdx, bestIdx + 1, m);
    m--;
    current = next;
  }
  return { from, to, weight };
}

/**
 * The same Prim without a stored matrix: d(current, j) is computed only when it could lower
 * j's reachability. It cannot when max(core(current), core(j)) ≥ minReach(j) already, nor when
 * the triangle-inequality bound |r(current) − r(j)| ≤ d(current, j), r = distance to the
 * centroid, is above minReach(j) with a margin far wider than the rounding of r. Skipping those
 * leaves every minReach and every choice exactly as in primMatrix.
 */
function primRecompute(P: Float64Array, core: Float64Array, n: number, d: number) {
  const centroid = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) centroid[k] += P[i * d + k];
  for (let k = 0; k < d; k++) centroid[k] /= n;
  const radius = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) {
      const t = P[i * d + k] - centroid[k];
      s += t * t;
    }
    radius[i] = Math.sqrt(s);
  }
  const pair = kernels.pair;
  const left = new Int32Array(n - 1);
  for (let j = 1; j < n; j++) left[j - 1] = j;
  let m = n - 1;
  const minReach = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const from = new Int32Array(n - 1);
  const to = new Int32Array(n - 1);
  const weight = new Float64Array(n - 1);
  let current = 0;
  for (let step = 0; step < n - 1; step++) {
    const cc = core[current];
    const rc = radius[current];
    const oc = current * d;
    let best = Number.POSITIVE_INFINITY;
    let bestIdx = 0;
    for (let q = 0; q < m; q++) {
      const j = left[q];
      let r = minReach[j];
      const cj = core[j];
      if (cc < r && cj < r) {
        const lb = Math.abs(rc - radius[j]) - 1e-9 * (rc + radius[j]);
        if (lb < r) {
          let mr = pair(P, d, oc, j * d);
          if (cc > mr) mr = cc;
          if (cj > mr) mr = cj;
          if (mr < r) minReach[j] = r = mr;
        }
      }
      if (r < best) {
        best = r;
        bestIdx = q;
      }
    }
    const next = left[bestIdx];
    from[step] = current;
    to[step] = next;
    weight[step] = best;
    left.copyWithin(bestIdx, bestIdx + 1, m);
    m--;
    current = next;
  }
  return { from, to, weight };
}

/** scikit-learn's _condense_tree: breadth-first from the root, runts (< minClusterSize) fall out as points. */
function condenseTree(
  n: number,
  left: Int32Array,
  right: Int32Array,
  dist: Float64Array,
  size: Int32Array,
  minClusterSize: number,
): Condensed {
  const root = 2 * (n - 1);
  const countOf = (node: number) => (node >= n ? size[node - n] : 1);
  const bfs = (start: number): number[] => {
    const out = [start];
    for (let h = 0; h < out.length; h++) {
      const x = out[h];
      if (x >= n) out.push(left[x - n], right[x - n]);
    }
    return out;
  };
  const relabel = new Int32Array(root + 1);
  relabel[root] = n;
  let nextLabel = n + 1;
  const ignore = new Uint8Array(root + 1);
  const out: Condensed = { parent: [], child: [], lambda: [], size: [] };
  const push = (p: number, c: number, l: number, s: number) => {
    out.parent.push(p);
    out.child.push(c);
    out.lambda.push(l);
    out.size.push(s);
  };
  const fallOut = (parent: number, side: number, lambda: number) => {
    for (const sub of bfs(side)) {
      if (sub < n) push(parent, sub, lambda, 1);
      ignore[sub] = 1;
    }
  };
  for (const node of bfs(root)) {
    if (ignore[node] || node < n) continue;
    const l = left[node - n];
    const r = right[node - n];
    const distance = dist[node - n];
    const lambda = distance > 0 ? 1 / distance : Number.POSITIVE_INFINITY;
    const lc = countOf(l);
    const rc = countOf(r);
    if (lc >= minClusterSize && rc >= minClusterSize) {
      relabel[l] = nextLabel++;
      push(relabel[node], relabel[l], lambda, lc);
      relabel[r] = nextLabel++;
      push(relabel[node], relabel[r], lambda, rc);
    } else if (lc < minClusterSize && rc < minClusterSize) {
      fallOut(relabel[node], l, lambda);
      fallOut(relabel[node], r, lambda);
    } else if (lc < minClusterSize) {
      relabel[r] = relabel[node];
      fallOut(relabel[node], l, lambda);
    } else {
      relabel[l] = relabel[node];
      fallOut(relabel[node], r, lambda);
    }
  }
  return out;
}

/** scikit-learn's _compute_stability, _get_clusters, _do_labelling and get_probabilities. */
function selectAndLabel(
  n: number,
  tree: Condensed,
  o: { selection: 'eom' | 'leaf'; allowSingleCluster: boolean; epsilon: number },
): { labels: Int32Array; probabilities: Float64Array; nClusters: number } {
  const rows = tree.parent.length;
  const rootCluster = n; // the smallest parent
  let maxParent = rootCluster;
  for (const p of tree.parent) if (p > maxParent) maxParent = p;
  const nNodes = maxParent - rootCluster + 1;
  const at = (c: number) => c - rootCluster;
  // stability: Σ (λ_row − λ_birth(parent)) · size over the parent's rows
  const birth = new Float64Array(nNodes);
  for (let i = 0; i < rows; i++) if (tree.child[i] >= rootCluster) birth[at(tree.child[i])] = tree.lambda[i];
  const stability = new Float64Array(nNodes);
  for (let i = 0; i < rows; i++) stability[at(tree.parent[i])] += (tree.lambda[i] - birth[at(tree.parent[i])]) * tree.size[i];
  // the cluster tree (rows whose child is a cluster), as child lists and parent links
  const kids: number[][] = Array.from({ length: nNodes }, () => []);
  const ctParentOf = new Int32Array(nNodes).fill(-1);
  const ctLambdaOf = new Float64Array(nNodes);
  let ctRows = 0;
  for (let i = 0; i < rows; i++)
    if (tree.size[i] > 1) {
      kids[at(tree.parent[i])].push(tree.child[i]);
      ctParentOf[at(tree.child[i])] = tree.parent[i];
      ctLambdaOf[at(tree.child[i])] = tree.lambda[i];
      ctRows++;
    }
  const descendants = (c: number): number[] => {
    const out = [c];
    for (let h = 0; h < out.length; h++) out.push(...kids[at(out[h])]);
    return out.slice(1);
  };
  const nodeList: number[] = [];
  for (let c = maxParent; c >= rootCluster; c--) nodeList.push(c);
  if (!o.allowSingleCluster) nodeList.pop();
  const isCluster = new Uint8Array(nNodes);
  for (const c of nodeList) isCluster[at(c)] = 1;
  const traverseUpwards = (leaf: number): number => {
    const parent = ctParentOf[at(leaf)];
    if (parent === rootCluster) return o.allowSingleCluster ? parent : leaf;
    return 1 / ctLambdaOf[at(parent)] > o.epsilon ? parent : traverseUpwards(parent);
  };
  const epsilonSearch = (leaves: number[]): Set<number> => {
    const selected = new Set<number>();
    const processed = new Set<number>();
    for (const leaf of leaves) {
      if (1 / ctLambdaOf[at(leaf)] < o.epsilon) {
        if (!processed.has(leaf)) {
          const up = traverseUpwards(leaf);
          selected.add(up);
          for (const sub of descendants(up)) processed.add(sub);
        }
      } else selected.add(leaf);
    }
    return selected;
  };
  const keepOnly = (sel: Set<number>) => {
    for (const c of nodeList) isCluster[at(c)] = sel.has(c) ? 1 : 0;
  };
  if (o.selection === 'eom') {
    for (const node of nodeList) {
      let sub = 0;
      for (const c of kids[at(node)]) sub += stability[at(c)];
      if (sub > stability[at(node)]) {
        isCluster[at(node)] = 0;
        stability[at(node)] = sub;
      } else for (const s of descendants(node)) isCluster[at(s)] = 0;
    }
    if (o.epsilon !== 0 && ctRows > 0) {
      const eom = nodeList.filter((c) => isCluster[at(c)]);
      if (eom.length === 1 && eom[0] === rootCluster) keepOnly(new Set(o.allowSingleCluster ? eom : []));
      else keepOnly(epsilonSearch(eom));
    }
  } else {
    const leaves: number[] = [];
    const dfs = (c: number) => {
      if (kids[at(c)].length === 0) leaves.push(c);
      else for (const k of kids[at(c)]) dfs(k);
    };
    if (ctRows > 0) dfs(rootCluster);
    keepOnly(o.epsilon !== 0 ? epsilonSearch(leaves) : new Set(leaves));
  }
  const clusters = nodeList.filter((c) => isCluster[at(c)]).sort((a, b) => a - b);
  const labelOf = new Int32Array(nNodes).fill(-1);
  clusters.forEach((c, i) => {
    labelOf[at(c)] = i;
  });
  // labelling: every row whose child is not a selected cluster joins child to parent
  const up = new Int32Array(maxParent + 1).fill(-1);
  for (let i = 0; i < rows; i++) {
    const c = tree.child[i];
    if (c < rootCluster || !isCluster[at(c)]) up[c] = tree.parent[i];
  }
  const top = (x: number) => {
    while (up[x] !== -1) x = up[x];
    return x;
  };
  const pointLambda = new Float64Array(n);
  for (let i = 0; i < rows; i++) if (tree.child[i] < n) pointLambda[tree.child[i]] = tree.lambda[i];
  let rootMaxLambda = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < rows; i++) if (tree.parent[i] === rootCluster && tree.lambda[i] > rootMaxLambda) rootMaxLambda = tree.lambda[i];
  const labels = new Int32Array(n).fill(-1);
  for (let p = 0; p < n; p++) {
    const c = top(p);
    if (c !== rootCluster) labels[p] = labelOf[at(c)];
    else if (clusters.length === 1 && o.allowSingleCluster) {
      const threshold = o.epsilon !== 0 ? 1 / o.epsilon : rootMaxLambda;
      if (pointLambda[p] >= threshold) labels[p] = labelOf[at(c)];
    }
  }
  // probabilities: λ_p capped at the cluster's death λ, divided by it. The death λ is, as in
  // scikit-learn's max_lambdas, the largest λ of the cluster's LAST run of consecutive rows in
  // the condensed tree (the `hdbscan` package sorts by parent first and takes the overall max).
  const deaths = new Float64Array(nNodes);
  for (let i = 0; i < rows; ) {
    const p = tree.parent[i];
    let mx = tree.lambda[i];
    let j = i + 1;
    for (; j < rows && tree.parent[j] === p; j++) if (tree.lambda[j] > mx) mx = tree.lambda[j];
    deaths[at(p)] = mx;
    i = j;
  }
  const probabilities = new Float64Array(n);
  for (let i = 0; i < rows; i++) {
    const point = tree.child[i];
    if (point >= rootCluster) continue;
    const lab = labels[point];
    if (lab === -1) continue;
    const maxLambda = deaths[at(clusters[lab])];
    if (maxLambda === 0 || !Number.isFinite(tree.lambda[i])) probabilities[point] = 1;
    else probabilities[point] = Math.min(tree.lambda[i], maxLambda) / maxLambda;
  }
  return { labels, probabilities, nClusters: clusters.length };
}
