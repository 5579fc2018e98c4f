import { resolveConfig } from '../config/index.ts';
import { openStore } from '../artifacts/index.ts';
import { runLocal } from '../activities/local.ts';
const c = resolveConfig({ preset: process.argv[2] ?? 'tiny' });
const store = openStore({
  kind: 'local',
  dir: process.argv[3] ?? '/tmp/polca-local-store',
});
const t0 = Date.now();
let last = '';
const r = await runLocal(c, store, `local-${c.preset}`, {
  onProgress: (_p, step, d) => {
    const s = `${step} ${d.phase} ${d.done}/${d.total}`;
    if (s !== last) {
      last = s;
      console.error(((Date.now() - t0) / 1000).toFixed(1), s);
    }
  },
}).catch((e) => {
  console.error(e);
  process.exit(1);
});
console.log(
  JSON.stringify(
    {
      seconds: (Date.now() - t0) / 1000,
      steps: r.steps.map((s) => [s.name, s.cached, s.seconds.toFixed(2)]),
      metrics: r.metrics,
    },
    null,
    1,
  ),
);
