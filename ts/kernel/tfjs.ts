/**
 * TF.js models from disk, evaluated in batches for KernelSHAP.
 *
 * `@tensorflow/tfjs` (pure JS, CPU backend) is an optional peer dependency, loaded
 * on first use: arrowshap installs without it (it is 273 MB), and a TF.js model
 * without it is an error saying how to add it. When `@tensorflow/tfjs-node-gpu` or
 * `@tensorflow/tfjs-node` is installed it is loaded instead (same API, native
 * kernels). The public types name no TF.js type (see {@link TfjsModelLike}), so an
 * app compiles against arrowshap without TF.js installed. Models are read through a small file
 * `IOHandler` (`model.json` + its weight shards), so no `file://` router or native
 * TF.js binding is needed. Both TF.js formats load: Keras-style LayersModel
 * (`format: "layers-model"`) and converted GraphModel (`format: "graph-model"`).
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { packageJson } from '../package.ts';
import type { BatchPredictor } from './explain_kernel.ts';

type Tf = typeof TF;

let tfPromise: Promise<Tf> | undefined;

/** True when `e` says that the package `name` itself is not installed (not a failure inside it). */
function notInstalled(e: unknown, name: string): boolean {
  const { code, message } = (e ?? {}) as { code?: string; message?: string };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && (message ?? '').includes(`'${name}'`);
}

/**
 * The TF.js module: `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node` when
 * installed, else `@tensorflow/tfjs`. Production mode is enabled (it silences the
 * "install tfjs-node" banner of the CPU backend and skips debug checks). Rejects
 * with the command that installs it when none is installed.
 * @internal
 */
export function tfjs(): Promise<Tf> {
  tfPromise ??= (async () => {
    let tf: Tf | undefined;
    for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        tf = (await import(name)) as Tf;
        break;
      } catch {
        // not installed: try the next one
      }
    }
    if (!tf) {
      try {
        tf = (await import('@tensorflow/tfjs')) as Tf;
      } catch (e) {
        if (!notInstalled(e, '@tensorflow/tfjs')) throw e;
        const range = packageJson().peerDependencies?.['@tensorflow/tfjs'] ?? 'latest';
        throw new Error(
          'TF.js models need @tensorflow/tfjs, an optional peer dependency of arrowshap that is not installed: ' +
            `\`npm install @tensorflow/tfjs@${range}\` (or @tensorflow/tfjs-node for native kernels)`,
        );
      }
    }
    tf.enableProdMode();
    return tf;
  })();
  return tfPromise;
}

/** Resolves a model directory or a `model.json` path to the `model.json` path. */
async function modelJsonPath(dirOrModelJson: string): Promise<string> {
  const p = resolve(dirOrModelJson);
  let s;
  try {
    s = await stat(p);
  } catch {
    throw new Error(`TF.js model not found: ${dirOrModelJson} (expected a directory with model.json, or a model.json file)`);
  }
  return s.isDirectory() ? join(p, 'model.json') : p;
}

/**
 * A file IOHandler: `load` reads `model.json` and its weight shards (paths relative
 * to it); `save` writes `model.json` and one `weights.bin` next to it.
 * @internal
 */
export function fileHandler(tf: Tf, modelJson: string): TF.io.IOHandler {
  const dir = dirname(modelJson);
  return {
    async load(): Promise<TF.io.ModelArtifacts> {
      let json: TF.io.ModelJSON;
      try {
        json = JSON.parse(await readFile(modelJson, 'utf8')) as TF.io.ModelJSON;
      } catch (e) {
        throw new Error(`${modelJson}: cannot read a TF.js model.json: ${(e as Error).message}`);
      }
      if (json.modelTopology == null) throw new Error(`${modelJson}: not a TF.js model.json (no modelTopology)`);
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: TF.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            const b = await readFile(join(dir, p)).catch((e: Error) => {
              throw new Error(`${modelJson}: cannot read weight shard ${p}: ${e.message}`);
            });
            buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
    async save(artifacts: TF.io.ModelArtifacts): Promise<TF.io.SaveResult> {
      await mkdir(dir, { recursive: true });
      const data = artifacts.weightData;
      const weights = data == null ? new ArrayBuffer(0) : Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        signature: artifacts.signature,
        userDefinedMetadata: artifacts.userDefinedMetadata,
        modelInitializer: artifacts.modelInitializer,
        trainingConfig: artifacts.trainingConfig,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFile(join(dir, 'weights.bin'), new Uint8Array(weights));
      await writeFile(modelJson, JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    },
  };
}

/**
 * Saves a TF.js LayersModel as `dir/model.json` + `dir/weights.bin` (for fixtures and tests).
 * @internal
 */
export async function saveTfjsModel(model: TF.LayersModel, dir: string): Promise<void> {
  const tf = await tfjs();
  await model.save(fileHandler(tf, join(resolve(dir), 'model.json')));
}

/** Options of {@link loadTfjsModel}. */
export interface LoadTfjsOptions {
  /** Feature names in input order (default `f0`, `f1`, …). */
  featureNames?: string[];
  /** Rows per TF.js `predict` call (default 16384): bounds tensor memory. */
  batchSize?: number;
}

/**
 * A TF.js `LayersModel` or `GraphModel`, described by the members arrowshap uses
 * (so that arrowshap's types do not need `@tensorflow/tfjs` installed).
 */
export interface TfjsModelLike {
  /** The model's inputs: one, of shape `[rows, features]`. */
  readonly inputs: readonly { readonly shape?: readonly (number | null)[] }[];
  /** Evaluates the model (TF.js `predict`). */
  predict(...args: never[]): unknown;
  /** Frees the weights. */
  dispose(): unknown;
}

/**
 * A TF.js model with one 2-D input `[rows, features]` and one output `[rows]` or
 * `[rows, outputs]`, evaluated in batches. Pass it to `explainKernel`.
 */
export class TfjsModel implements BatchPredictor {
  private constructor(
    private readonly tf: Tf,
    private readonly model: TF.LayersModel | TF.GraphModel,
    readonly kind: 'layers-model' | 'graph-model',
    readonly featureNames: string[],
    readonly numOutputs: number,
    private readonly batchSize: number,
  ) {}

  /** Wraps an in-memory model (layers or graph); inspects its input width and output size. */
  static async fromModel(
    tfModel: TfjsModelLike,
    opts: LoadTfjsOptions & { kind?: 'layers-model' | 'graph-model' } = {},
  ): Promise<TfjsModel> {
    const tf = await tfjs();
    const model = tfModel as unknown as TF.LayersModel | TF.GraphModel; // the TF.js object behind the structural type
    const kind = opts.kind ?? ('layers' in model ? 'layers-model' : 'graph-model');
    const inputs = model.inputs;
    if (inputs.length !== 1) throw new Error(`TF.js model: expected one input tensor, the model has ${inputs.length}`);
    const shape = inputs[0].shape ?? [];
    const width = shape.length === 2 ? shape[1] : undefined;
    const numFeatures = typeof width === 'number' && width > 0 ? width : opts.featureNames?.length;
    if (numFeatures == null || shape.length !== 2) {
      throw new Error(`TF.js model: expected an input of shape [rows, features], got [${shape.join(', ')}]`);
    }
    if (opts.featureNames && opts.featureNames.length !== numFeatures) {
      throw new Error(`TF.js model: ${opts.featureNames.length} feature names for ${numFeatures} input features`);
    }
    const names = opts.featureNames ?? Array.from({ length: numFeatures }, (_, j) => `f${j}`);
    const batchSize = opts.batchSize ?? 16384;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    // probe one row for the output size (graph models often leave it unknown)
    const probe = new TfjsModel(tf, model, kind, names, 1, batchSize);
    const out = await probe.run(new Float32Array(numFeatures), 1);
    return new TfjsModel(tf, model, kind, names, out.length, batchSize);
  }

  /** Number of input features. */
  get numFeatures(): number {
    return this.featureNames.length;
  }

  /** Evaluates rows given as one column per feature; returns row-major rows × outputs. */
  async predict(columns: Float64Array[]): Promise<Float64Array> {
    const m = this.numFeatures;
    if (columns.length !== m) throw new Error(`TF.js model: ${columns.length} columns for ${m} features`);
    const n = columns[0]?.length ?? 0;
    const out = new Float64Array(n * this.numOutputs);
    for (let start = 0; start < n; start += this.batchSize) {
      const end = Math.min(n, start + this.batchSize);
      const rows = end - start;
      const buf = new Float32Array(rows * m);
      for (let j = 0; j < m; j++) {
        const c = columns[j];
        for (let i = 0; i < rows; i++) buf[i * m + j] = c[start + i];
      }
      const y = await this.run(buf, rows);
      if (y.length !== rows * this.numOutputs) {
        throw new Error(`TF.js model: ${y.length} outputs for ${rows} rows, expected ${rows * this.numOutputs}`);
      }
      out.set(y, start * this.numOutputs);
    }
    return out;
  }

  private async run(rowMajor: Float32Array, rows: number): Promise<Float32Array | Int32Array | Uint8Array> {
    const tf = this.tf;
    const y = tf.tidy(() => {
      const x = tf.tensor2d(rowMajor, [rows, rowMajor.length / rows], 'float32');
      const r =
        this.kind === 'layers-model'
          ? (this.model as TF.LayersModel).predict(x, { batchSize: rows })
          : (this.model as TF.GraphModel).predict(x);
      if (Array.isArray(r) || !(r instanceof tf.Tensor)) {
        throw new Error('TF.js model: expected one output tensor, the model returns several');
      }
      return r.reshape([rows, -1]).toFloat();
    });
    try {
      return (await y.data()) as Float32Array;
    } finally {
      y.dispose();
    }
  }

  /** Frees the model's weights. */
  dispose(): void {
    this.model.dispose();
  }

  /** @internal */
  static async load(dirOrModelJson: string, opts: LoadTfjsOptions = {}): Promise<TfjsModel> {
    const tf = await tfjs();
    const path = await modelJsonPath(dirOrModelJson);
    const handler = fileHandler(tf, path);
    const json = JSON.parse(await readFile(path, 'utf8').catch((e: Error) => {
      throw new Error(`${path}: cannot read: ${e.message}`);
    })) as { format?: string; modelTopology?: { node?: unknown } };
    const graph = json.format === 'graph-model' || (json.modelTopology != null && 'node' in json.modelTopology);
    const model = graph ? await tf.loadGraphModel(handler) : await tf.loadLayersModel(handler);
    return TfjsModel.fromModel(model, { ...opts, kind: graph ? 'graph-model' : 'layers-model' });
  }
}

/**
 * Loads a TF.js LayersModel or GraphModel from disk (`dir` holding `model.json`, or
 * the `model.json` path itself) for `explainKernel`.
 */
export function loadTfjsModel(dirOrModelJson: string, opts: LoadTfjsOptions = {}): Promise<TfjsModel> {
  return TfjsModel.load(dirOrModelJson, opts);
}
