/** Model URIs as MLflow spells them: `models:/NAME/VERSION`, `models:/NAME@ALIAS`. */

/** `models:/NAME/VERSION` */
export function versionUri(name: string, version: number): string {
  return `models:/${name}/${version}`;
}

/** `models:/NAME@ALIAS` */
export function aliasUri(name: string, alias: string): string {
  return `models:/${name}@${alias}`;
}

/** A parsed `models:/…` URI. */
export type ModelUri = { name: string; version: number } | { name: string; alias: string };

/** Parses `models:/NAME/VERSION` or `models:/NAME@ALIAS`; `undefined` for anything else. */
export function parseModelUri(text: string): ModelUri | undefined {
  const m = /^models:\/([^/@]+)(?:\/(\d+)|@([^/@]+))$/.exec(text);
  if (!m) return undefined;
  return m[2] !== undefined ? { name: m[1], version: Number(m[2]) } : { name: m[1], alias: m[3] };
}
