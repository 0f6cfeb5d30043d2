/** Loads arrowshap's own packaging: one model file in the version directory. */
import { z } from 'zod';
import type { TreeModel } from '../../native/tree_model.ts';
import { loadTreeModel, versionFile } from './load_file.ts';
import { MODEL_EXTENSIONS, modelFileCandidates } from './model_files.ts';
import type { Loader } from './loaders.ts';
import type { ModelVersion } from './registry.ts';

/** `{KIND: CustomLoader}` */
export const CustomLoaderConfig = z.object({ KIND: z.literal('CustomLoader') }).strict();
/** `{KIND: CustomLoader}` */
export type CustomLoaderConfig = z.input<typeof CustomLoaderConfig>;


/**
 * Loads the version's model file: `mv.file` when the registry recorded it, else
 * the one file with a model extension (`.json`, `.ubj`, `.txt`, `.xgb`, `.bst`,
 * `.lgb`, `.model`; MLflow's side files such as `requirements.txt` excluded).
 * XGBoost JSON/UBJ and LightGBM text are read.
 */
export class CustomLoader implements Loader {
  /** The model file `load` would read, relative to `mv.dir`. */
  modelFile(mv: ModelVersion): string {
    if (mv.file !== undefined) return mv.file;
    const candidates = modelFileCandidates(mv.files);
    if (candidates.length === 1) return candidates[0];
    const files = mv.files.join(', ') || '(none)';
    if (candidates.length === 0) {
      throw new Error(`${mv.uri}: no model file (${Object.keys(MODEL_EXTENSIONS).join(', ')}) in ${mv.dir}; files: ${files}`);
    }
    throw new Error(`${mv.uri}: several model files in ${mv.dir} (${candidates.join(', ')}); cannot tell which to load`);
  }

  async load(mv: ModelVersion): Promise<TreeModel> {
    return loadTreeModel(mv, versionFile(mv, this.modelFile(mv), 'model file'));
  }

  describe(): string {
    return 'CustomLoader';
  }
}
