/**
 * Shared setup of the report specs: a fixture explained through the library
 * (samples table, feature columns, model table), and reading values back out of
 * the rendered SVG (each mark's `aria-label`, each bar's geometry).
 */
import type * as arrow from 'apache-arrow';
import { explainModel, SamplesExplainer } from '../../ts/core/explainers.ts';
import { featureColumns } from '../../ts/io/datasets/features.ts';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { TreeModel, type FeatureColumn } from '../../ts/native/tree_model.ts';
import { join } from 'node:path';
import type { AlertFields, Alerts } from '../../ts/io/services/alerts.ts';
import { ROOT } from '../core/_fixtures.ts';

/** One model explained over its inputs. */
export interface Explained {
  model: TreeModel;
  inputs: arrow.Table;
  columns: FeatureColumn[];
  samples: arrow.Table;
  interactions?: arrow.Table;
  modelsTable: arrow.Table;
  meanAbsShap: Float64Array;
}

/** Explains `inputsPath` with `modelPath` (path-dependent, interactions when asked) in one batch. */
export async function explainFile(modelPath: string, inputsPath: string, opts: { interactions?: boolean } = {}): Promise<Explained> {
  const model = TreeModel.fromFile(join(ROOT, modelPath));
  const inputs = await readerForPath(join(ROOT, inputsPath)).read();
  const columns = featureColumns(inputs, model.featureNames);
  const explainer = new SamplesExplainer(model, { interactions: opts.interactions ?? false, threads: 2 });
  const out = await explainer.explainBatch(columns);
  const summary = explainer.summary();
  const samples = new (await import('apache-arrow')).Table([out.samples]);
  const interactions = out.interactions ? new (await import('apache-arrow')).Table([out.interactions]) : undefined;
  return { model, inputs, columns, samples, interactions, modelsTable: explainModel(model, summary.meanAbsShap), meanAbsShap: summary.meanAbsShap };
}

/** Alerts that record what they were sent. */
export class RecordingAlerts implements Alerts {
  sent: { title: string; message: string; fields: AlertFields }[] = [];
  async notify(title: string, message: string, fields: AlertFields = {}): Promise<void> {
    this.sent.push({ title, message, fields });
  }
  describe(): string {
    return 'recording';
  }
}

/** The diabetes demo model (10 features, regression) over its 442 rows. */
export const DIABETES = { model: 'examples/models/diabetes.ubj', inputs: 'examples/data/diabetes.parquet' };
/** A 3-class XGBoost fixture. */
export const SOFTPROB = { model: 'tests/fixtures/xgb_multi_softprob/model.json', inputs: 'tests/fixtures/xgb_multi_softprob/inputs.csv' };

/** The `aria-label`s of the marks with `aria-roledescription="bar"` in an SVG. */
export function barLabels(svg: string): { label: string; d: string }[] {
  return [...svg.matchAll(/<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="bar" d="([^"]*)"/g)].map((m) => ({
    label: m[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'"),
    d: m[2],
  }));
}

/** Width of a Vega bar path `M x,y h W v H h -W Z`. */
export function barWidth(d: string): number {
  const m = /^M[-\d.e]+,[-\d.e]+h([-\d.e]+)v/.exec(d);
  if (!m) throw new Error(`not a bar path: ${d}`);
  return Number(m[1]);
}
