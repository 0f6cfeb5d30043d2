// Injected into the CommonJS bundle (scripts/build-dist.mjs): `import.meta.url` is defined
// as this URL of the bundle file itself, so code written for ES modules (createRequire,
// paths relative to the module) works unchanged under `require`.
export const __arrowshapImportMetaUrl = require('node:url').pathToFileURL(__filename).href;
