// Entry of a compute thread (piscina worker). Plain JavaScript: it registers tsx in this thread,
// then hands every task to compute/task.ts.
import { register } from 'tsx/esm/api';

register();
const { runTask } = await import('./task.ts');
export default runTask;
