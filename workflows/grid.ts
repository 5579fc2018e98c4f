/**
 * Sweep grids: dotted config paths → lists of values; the points are their cartesian product. A
 * list of such grids is their union, in order: the points of the first, then of the second, …
 * (a sweep whose parts vary different fields, e.g. every trajectory family on one basis and POLCA
 * alone on the others).
 */
export type Grid = Record<string, unknown[]> | Record<string, unknown[]>[];

export function setPath(obj: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split('.');
  if (rest.length === 0) return { ...obj, [head]: value };
  const child = (typeof obj[head] === 'object' && obj[head] !== null ? obj[head] : {}) as Record<string, unknown>;
  return { ...obj, [head]: setPath(child, rest.join('.'), value) };
}

export function gridPoints(grid: Grid): Record<string, unknown>[] {
  if (Array.isArray(grid)) {
    if (grid.length === 0) throw new Error('grid: expected a non-empty list of grids');
    return grid.flatMap((g, i) => {
      if (typeof g !== 'object' || g === null || Array.isArray(g))
        throw new Error(`grid[${i}]: expected an object of config path → list of values`);
      try {
        return gridPoints(g);
      } catch (e) {
        throw new Error(`grid[${i}]: ${(e as Error).message.replace(/^grid\./, '')}`);
      }
    });
  }
  let points: Record<string, unknown>[] = [{}];
  for (const [path, values] of Object.entries(grid)) {
    if (!Array.isArray(values) || values.length === 0) throw new Error(`grid.${path}: expected a non-empty list of values`);
    points = points.flatMap((p) => values.map((v) => ({ ...p, [path]: v })));
  }
  return points;
}
