/**
 * deploy/: the Kubernetes Indexed Job and its merge Job hold a config the job
 * accepts (validated with the same schema as `arrowshap run`), run it sharded
 * with `--shard auto`, and pass a shard count equal to the Job's completions.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { parseConfig } from '../../ts/config/load.ts';
import { checkShardable } from '../../ts/shard/job.ts';
import { shardFromEnvironment } from '../../ts/shard/spec.ts';
import { ROOT } from '../core/_fixtures.ts';

interface Container {
  args: string[];
  env?: { name: string; value?: string }[];
  image: string;
}
type Doc = {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: { completions?: number; completionMode?: string; template: { spec: { containers: Container[]; volumes: { configMap?: { name: string } }[] } } };
};

const docs = (file: string) => parseAllDocuments(readFileSync(join(ROOT, 'deploy', file), 'utf8')).map((d) => d.toJS() as Doc);

test('the Indexed Job runs a valid config sharded, with ARROWSHAP_SHARD_COUNT = completions; the merge Job uses the same config', (t) => {
  const [configMap, job] = docs('job.yaml');
  t.is(configMap.kind, 'ConfigMap');
  const config = parseConfig(parse(configMap.data!['job.yaml']));
  t.notThrows(() => checkShardable(config.job));
  t.is(job.kind, 'Job');
  t.is(job.spec!.completionMode, 'Indexed');
  const container = job.spec!.template.spec.containers[0];
  t.deepEqual(container.args, ['run', '/config/job.yaml', '--shard', 'auto']);
  const count = container.env!.find((e) => e.name === 'ARROWSHAP_SHARD_COUNT')!.value!;
  t.is(Number(count), job.spec!.completions!);
  // what each pod resolves: its JOB_COMPLETION_INDEX of `completions`
  t.like(shardFromEnvironment({ JOB_COMPLETION_INDEX: String(job.spec!.completions! - 1), ARROWSHAP_SHARD_COUNT: count }), {
    index: job.spec!.completions! - 1,
    count: job.spec!.completions,
  });
  const [merge] = docs('merge-job.yaml');
  const mc = merge.spec!.template.spec.containers[0];
  t.deepEqual(mc.args, ['merge', '/config/job.yaml']);
  t.is(mc.image, container.image);
  t.is(merge.spec!.template.spec.volumes[0].configMap!.name, configMap.metadata.name);
});
