/**
 * A training run for the kill-anywhere test, as its own process: a tiny
 * network on two small phantoms, a checkpoint after every step, resuming from
 * the checkpoint in the folder when there is one (as `cacnet train --resume`
 * does: readCheckpoint, buildModel, train). Inside every checkpoint write,
 * with the new file flushed under its temporary name and the previous one
 * still current, it prints 'committing' and waits, so the test can kill it
 * there; between steps it prints 'step N'.
 *
 *   node --import tsx test/helpers/train-child.ts <dir> <pause-ms>
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '../../src/gpu/runtime.js';
import { CacNet } from '../../src/net/cacnet.js';
import { CHECKPOINT_FILE, readCheckpoint } from '../../src/net/checkpoint.js';
import { buildModel } from '../../src/net/model-bundle.js';
import { train, type TrainOptions } from '../../src/net/train.js';
import { KILL_TEST_CONFIG, killTestOptions, killTestScans } from './kill-test-run.js';

const [dir, pause] = [process.argv[2]!, Number(process.argv[3] ?? 0)];
const rt = await Runtime.create();
const checkpoint = existsSync(join(dir, CHECKPOINT_FILE)) ? await readCheckpoint(dir) : undefined;
const model = checkpoint ? buildModel(rt, checkpoint.model) : new CacNet(rt, KILL_TEST_CONFIG);
const o: TrainOptions = {
  ...killTestOptions(dir),
  onProgress: (p) => console.log(`step ${p.step}`),
  beforeCheckpointCommit: async () => {
    console.log('committing');
    await new Promise((resolve) => setTimeout(resolve, pause));
  },
};
const result = await train(rt, model, killTestScans(), [], o, checkpoint);
console.log(`done ${result.step}`);
model.dispose();
rt.destroy();
