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

/** `latest` always names a model's highest version (it cannot be set as an alias). */
export const LATEST = 'latest';

/**
 * What an `alias_or_version` names in the registry of model `name`: a version
 * number (`2`, `"2"`, `models:/NAME/2`) or an alias (`Champion`,
 * `models:/NAME@Champion`, or {@link LATEST}).
 * @throws when a URI names another model.
 */
export function versionRef(aliasOrVersion: string | number, name: string): number | string {
  if (typeof aliasOrVersion === 'number') return aliasOrVersion;
  const uri = parseModelUri(aliasOrVersion);
  if (uri) {
    if (uri.name !== name) {
      throw new Error(`${aliasOrVersion} names model \`${uri.name}\`, but this registry is set up for model \`${name}\``);
    }
    return 'version' in uri ? uri.version : uri.alias;
  }
  return /^\d+$/.test(aliasOrVersion) ? Number(aliasOrVersion) : aliasOrVersion;
}
