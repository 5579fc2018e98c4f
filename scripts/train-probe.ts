// Trains a preset and prints evaluation accuracy per checkpoint (a quick learning check).
import { resolveConfig } from '../config/index.ts';
import { initBackend } from '../core/model/backend.ts';
import { exactMatch, initTrainState, trainSegment } from '../core/train/train.ts';
const preset = process.argv[2] ?? 'small';
const sets = process.argv.slice(3);
const config = resolveConfig({ preset, sets });
console.log('backend', await initBackend(config.runtime.backend));
const t0 = performance.now();
let lastPrint = 0;
await trainSegment(config, initTrainState(config), config.train.iterations, {
  onCheckpoint(_s, cp, ev) {
    if (cp.iteration - lastPrint < config.train.iterations / 20 && cp.iteration !== config.train.iterations) return;
    lastPrint = cp.iteration;
    const loss = ev.loss.reduce((a, b) => a + b, 0) / ev.loss.length;
    console.log(
      `iter ${cp.iteration} eval loss ${loss.toFixed(4)} exact ${(100 * exactMatch(ev.correct)).toFixed(1)}% t=${((performance.now() - t0) / 1000).toFixed(0)}s`,
    );
  },
});
