/**
 * `job.report`: the HTML report a job writes beside its tables.
 *
 * ```yaml
 * report: {KIND: HtmlReport, path: outputs/report.html, sample_rows: 500, rows: [0, 17]}
 * ```
 */
import { z } from 'zod';
import { DEFAULT_SAMPLE_ROWS, DEFAULT_WATERFALLS } from './collector.ts';

/** `{KIND: HtmlReport, path, …}`: a self-contained HTML report (see `ts/report/report.ts`). */
export const HtmlReportConfig = z
  .object({
    KIND: z.literal('HtmlReport'),
    /** The HTML file written (relative paths: against the config file's folder). */
    path: z.string().min(1),
    /** Rows kept (uniform reservoir sample) for the beeswarm and dependence plots. */
    sample_rows: z.number().int().positive().default(DEFAULT_SAMPLE_ROWS),
    /** Rows whose waterfall is shown, by row position (or id column value); default: the largest |prediction − base|. */
    rows: z.array(z.union([z.number().int().nonnegative(), z.string().min(1)])).min(1).optional(),
    /** Waterfalls of the largest |prediction − base| rows when `rows` is not given. */
    waterfalls: z.number().int().nonnegative().default(DEFAULT_WATERFALLS),
    /** Features in the bar, beeswarm and waterfalls. */
    max_display: z.number().int().positive().default(10),
    /** Dependence plots per output (top features). */
    dependence_plots: z.number().int().nonnegative().default(4),
    /** Seed of the sample: the same input gives the same report. */
    seed: z.number().int().nonnegative().default(0),
    /** Page title (default: `Explanations: <model URI>`). */
    title: z.string().min(1).optional(),
  })
  .strict();
/** `job.report` as written. */
export type HtmlReportConfigInput = z.input<typeof HtmlReportConfig>;
/** `job.report` with defaults. */
export type HtmlReportConfig = z.output<typeof HtmlReportConfig>;

/** Any report config, chosen by `KIND`. */
export const ReportConfig = z.discriminatedUnion('KIND', [HtmlReportConfig]);
/** Any report config. */
export type ReportConfig = z.output<typeof ReportConfig>;
