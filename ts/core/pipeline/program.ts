/**
 * The preprocessing of a scikit-learn pipeline, evaluated over Arrow columns.
 *
 * The native loader (`native/core/src/model/sklearn`) compiles a fitted `Pipeline` /
 * `ColumnTransformer` into one program per model feature: the raw input column it
 * reads and the operations scikit-learn applies to it, in order (category codes for
 * `OneHotEncoder` / `OrdinalEncoder`, one-hot equality, `SimpleImputer`'s fill,
 * `StandardScaler` / `MinMaxScaler` arithmetic). This module runs those programs over
 * the input table, column by column (strings or numbers in, one `Float64Array` per
 * model feature out), sharing the work of features that read the same column through
 * the same steps (the one-hot columns of one encoder share its code column).
 */
import { DataType, type Table, type Vector } from 'apache-arrow';
import type { FeatureColumn } from '../../native/addon.ts';

/** A category: a string, a number, or `null` for missing (NaN / None). */
export type Category = string | number | null;

/** One operation on a column's values (see the module docs). */
export type ProgramOp =
  | { op: 'code'; encoding: number }
  | { op: 'eq'; value: number | null }
  | { op: 'impute'; missing: Category; fill: Category }
  | { op: 'sub' | 'div' | 'mul' | 'add'; value: number }
  | { op: 'clip'; lo: number; hi: number };

/** A category → code table (`categories_` of one encoder input). */
export interface ProgramEncoding {
  /** Who encodes, for messages (`OneHotEncoder over \`season\``). */
  who: string;
  /** The fitted categories. */
  categories: Category[];
  /** Code per category (`null` = NaN). */
  codes: (number | null)[];
  /** What an unseen value becomes: an error, or a code (`null` = NaN). */
  unknown: { error: string } | { code: number | null };
}

/** Raw inputs → model features. */
export interface SklearnProgram {
  /** Raw input column names (`feature_names_in_`, else `x0`, `x1`, …). */
  inputs: string[];
  /** One entry per model feature, in model order. */
  columns: { source: number; name: string; ops: ProgramOp[] }[];
  /** Encodings referenced by `code` operations. */
  encodings: ProgramEncoding[];
}

/** What the native loader says about a scikit-learn model read from skops. */
export interface SklearnDescription {
  /** The final estimator's class (`RandomForestRegressor`). */
  estimator: string;
  /** The space the SHAP values are in, in words (probability for forest classifiers, raw margin for boosting). */
  output_space: string;
  /** Class labels of a classifier, in output order. */
  classes: string[];
  /** Names of the pipeline steps before the estimator. */
  steps: string[];
  /** Whether the model table's `importance` equals scikit-learn's `feature_importances_`. */
  importances_are_sklearn: boolean;
  /** The compiled preprocessing. */
  program: SklearnProgram;
}

/** Values of a column as the program sees them: numbers (NaN = missing) or strings (null = missing). */
type Values = Float64Array | (string | null)[];

/** Options of {@link transformTable}. */
export interface TransformOptions {
  /** Where the table came from (a path), named in errors. */
  source?: string;
}

function isNumericType(type: DataType): boolean {
  return DataType.isFloat(type) || DataType.isInt(type) || DataType.isBool(type);
}

/** A raw column as numbers or strings. */
function rawValues(vector: Vector, name: string, where: string): Values {
  const type = vector.type;
  const n = vector.length;
  if (isNumericType(type)) {
    const out = new Float64Array(n);
    let i = 0;
    for (const v of vector as Iterable<unknown>) {
      out[i++] = v === null || v === undefined ? NaN : Number(v);
    }
    return out;
  }
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isDictionary(type)) {
    const out: (string | null)[] = new Array(n);
    let i = 0;
    for (const v of vector as Iterable<unknown>) out[i++] = v === null || v === undefined ? null : String(v);
    return out;
  }
  throw new Error(`${where}: input column \`${name}\` has type ${type}; the pipeline takes strings or numbers`);
}

/** Applies one operation. */
function apply(op: ProgramOp, x: Values, program: SklearnProgram, name: string, where: string): Values {
  const n = x.length;
  switch (op.op) {
    case 'code': {
      const enc = program.encodings[op.encoding];
      if (!enc) throw new Error(`pipeline program: encoding ${op.encoding} does not exist`);
      const strings = new Map<string, number>();
      const numbers = new Map<number, number>();
      let missing: number | undefined;
      enc.categories.forEach((c, i) => {
        const code = enc.codes[i] ?? NaN;
        if (c === null) missing = code;
        else if (typeof c === 'string') strings.set(c, code);
        else numbers.set(c, code);
      });
      const unknown = 'code' in enc.unknown ? (enc.unknown.code ?? NaN) : undefined;
      const out = new Float64Array(n);
      const fail = (v: unknown, row: number): never => {
        throw new Error(
          `${where}: input column \`${name}\` row ${row} holds ${JSON.stringify(v)}, a category not seen when the pipeline was trained ` +
            `(${'error' in enc.unknown ? enc.unknown.error : enc.who})`,
        );
      };
      if (x instanceof Float64Array) {
        if (numbers.size === 0 && strings.size > 0) {
          throw new Error(`${where}: input column \`${name}\` holds numbers but ${enc.who} learned string categories`);
        }
        for (let i = 0; i < n; i++) {
          const v = x[i];
          const c = Number.isNaN(v) ? missing : numbers.get(v);
          out[i] = c !== undefined ? c : unknown !== undefined ? unknown : fail(v, i);
        }
      } else {
        if (strings.size === 0 && numbers.size > 0) {
          throw new Error(`${where}: input column \`${name}\` holds strings but ${enc.who} learned numeric categories`);
        }
        for (let i = 0; i < n; i++) {
          const v = x[i];
          const c = v === null ? missing : strings.get(v);
          out[i] = c !== undefined ? c : unknown !== undefined ? unknown : fail(v, i);
        }
      }
      return out;
    }
    case 'impute': {
      if (x instanceof Float64Array) {
        if (typeof op.fill !== 'number') throw new Error(`${where}: input column \`${name}\` is numeric but SimpleImputer fills it with ${JSON.stringify(op.fill)}`);
        const out = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const v = x[i];
          out[i] = (op.missing === null ? Number.isNaN(v) : v === op.missing) ? op.fill : v;
        }
        return out;
      }
      return x.map((v) => ((op.missing === null ? v === null : v === op.missing) ? (op.fill === null ? null : String(op.fill)) : v));
    }
    default: {
      if (!(x instanceof Float64Array)) {
        throw new Error(`${where}: input column \`${name}\` holds strings; the pipeline needs numbers there (${op.op} step)`);
      }
      const out = new Float64Array(n);
      if (op.op === 'eq') {
        const g = op.value ?? NaN;
        for (let i = 0; i < n; i++) out[i] = x[i] === g ? 1 : 0;
      } else if (op.op === 'sub') for (let i = 0; i < n; i++) out[i] = x[i] - op.value;
      else if (op.op === 'div') for (let i = 0; i < n; i++) out[i] = x[i] / op.value;
      else if (op.op === 'mul') for (let i = 0; i < n; i++) out[i] = x[i] * op.value;
      else if (op.op === 'add') for (let i = 0; i < n; i++) out[i] = x[i] + op.value;
      else if (op.op === 'clip') for (let i = 0; i < n; i++) out[i] = Math.min(Math.max(x[i], op.lo), op.hi);
      else throw new Error(`pipeline program: unknown operation ${JSON.stringify(op)}`);
      return out;
    }
  }
}

/**
 * Runs the program over `table`: one `Float64Array` per model feature, in model order.
 * @throws naming the column when an input column is missing or has the wrong kind of
 * values, or when a value is a category the pipeline refuses (`handle_unknown='error'`).
 */
export function transformTable(program: SklearnProgram, table: Table, opts: TransformOptions = {}): FeatureColumn[] {
  const where = opts.source ?? 'the input table';
  const present = new Set(table.schema.fields.map((f) => f.name));
  const used = [...new Set(program.columns.map((c) => c.source))].map((s) => program.inputs[s]);
  const missing = used.filter((name) => !present.has(name));
  if (missing.length > 0) {
    throw new Error(
      `${where}: the pipeline reads column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `\`${m}\``).join(', ')}, ` +
        `which ${missing.length > 1 ? 'are' : 'is'} not in the input (columns: ${[...present].map((m) => `\`${m}\``).join(', ')})`,
    );
  }
  const cache = new Map<string, Values>();
  const raw = (source: number): Values => {
    const key = `${source}`;
    let v = cache.get(key);
    if (!v) {
      const name = program.inputs[source];
      v = rawValues(table.getChild(name)!, name, where);
      cache.set(key, v);
    }
    return v;
  };
  return program.columns.map((col) => {
    const name = program.inputs[col.source];
    let x = raw(col.source);
    let key = `${col.source}`;
    for (const op of col.ops) {
      key += `|${JSON.stringify(op)}`;
      const hit = cache.get(key);
      x = hit ?? apply(op, x, program, name, where);
      if (!hit) cache.set(key, x);
    }
    if (!(x instanceof Float64Array)) {
      throw new Error(`${where}: input column \`${name}\` holds strings, which feature \`${col.name}\` passes to the estimator unencoded`);
    }
    // the program's arrays are fresh; a bare passthrough column is a copy too, never a view of the input
    return col.ops.length === 0 ? Float64Array.from(x) : x;
  });
}

/** Model features grouped by the raw input column they are computed from (for the roll-up to raw columns). */
export function rawColumnGroups(program: SklearnProgram): { name: string; features: number[] }[] {
  const groups = new Map<number, number[]>();
  program.columns.forEach((c, j) => {
    const g = groups.get(c.source) ?? [];
    g.push(j);
    groups.set(c.source, g);
  });
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([s, features]) => ({ name: program.inputs[s], features }));
}
