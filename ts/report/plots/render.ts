/**
 * Renders a Vega-Lite spec to a standalone SVG string, server-side.
 *
 * Why Vega-Lite + Vega: a maintained grammar-of-graphics library from npm whose
 * runtime renders headless in Node (`View.toSVG()`, no DOM, no canvas, no
 * browser), so every chart is computed once when the report is written and the
 * HTML holds plain SVG: one file that works offline, with no script, no CDN and no
 * JS bundle (the Vega runtime alone is ~500 KB minified), readable in any browser
 * or mail client. Axes, scales, legends and layout are Vega's; arrowshap only
 * prepares the data (sorting, the beeswarm's row jitter, waterfall steps).
 *
 * Every mark carries an `aria-label` (Vega's accessibility descriptions), which is
 * also how the tests read the plotted values back from the SVG.
 *
 * Vega and Vega-Lite are loaded on the first render (`import()`), not when arrowshap
 * is loaded: they are ES modules with top-level await, which CommonJS `require`
 * cannot load, so a static import would break `require('arrowshap')`.
 */
import type { TopLevelSpec } from 'vega-lite';

/** Colours of low and high feature values (shap's blue → red). */
export const LOW_COLOR = '#008bfb';
/** Colour of high feature values. */
export const HIGH_COLOR = '#ff0052';
/** Colour of missing feature values. */
export const MISSING_COLOR = '#999999';

/** Shared look: font, no chart border, compact axes. */
export const BASE_CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eeeeee' },
  legend: { labelFontSize: 11, titleFontSize: 11 },
  title: { fontSize: 14, anchor: 'start' as const },
};

/** A Vega-Lite spec with the shared config merged in. */
export function withConfig(spec: TopLevelSpec): TopLevelSpec {
  return { ...spec, config: { ...BASE_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec;
}

/** Renders a Vega-Lite spec to an SVG document string (the `<svg>` element). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile(withConfig(spec)).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return compactSvg(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/** Rounds to `digits` significant digits (keeps the data inside an SVG's labels short). */
export function round(x: number, digits = 4): number {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)) : x;
}

/** Geometry attributes whose numbers {@link compactSvg} rounds. */
const GEOMETRY = /\b(transform|d|x|y|x1|x2|y1|y2|width|height)="([^"]*)"/g;

/**
 * Rounds the coordinates in an SVG's geometry attributes to 0.01 px (Vega writes
 * full float precision): a dense beeswarm shrinks by ~40% with no visible change.
 * Text content, labels and colours are left alone.
 */
export function compactSvg(svg: string): string {
  return svg.replace(GEOMETRY, (_, name: string, value: string) => `${name}="${value.replace(/(\d+\.\d\d)\d+/g, '$1')}"`);
}
