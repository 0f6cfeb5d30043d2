/** The alert an explanations run sends: its title, one-line message and key figures. */
import type * as arrow from 'apache-arrow';
import type { SamplesSummary } from '../core/explainers.ts';
import type { AlertFields } from '../io/services/alerts.ts';

/** Title of the alert sent when the job finishes. */
export const ALERT_TITLE = 'Explanations Job Finished';

/** `diabetes@Champion: 442 samples × 10 features explained in 0.31 s` */
export function alertMessage(modelUri: string, s: SamplesSummary, seconds: number): string {
  const outputs = s.outputs > 1 ? ` × ${s.outputs} outputs` : '';
  return `${modelUri}: ${s.rows} samples × ${s.features} features${outputs} explained in ${seconds.toFixed(2)} s`;
}

/** Key figures of the alert: samples, features, outputs, top 5 features by importance, wall time. */
export function alertFields(modelUri: string, s: SamplesSummary, models: arrow.Table, seconds: number): AlertFields {
  const features = models.getChild('feature')!.toArray() as string[];
  const importance = models.getChild('importance')!.toArray() as Float64Array;
  const top = [...features.keys()]
    .sort((a, b) => importance[b] - importance[a])
    .slice(0, 5)
    .map((i) => `${features[i]} (${importance[i].toFixed(3)})`)
    .join(', ');
  return {
    model: modelUri,
    algorithm: s.algorithm,
    samples: s.rows,
    features: s.features,
    outputs: s.outputs,
    top_features: top || '(none)',
    wall_time_s: Number(seconds.toFixed(3)),
  };
}
