/** The report of a run and of a sweep; see docs in report/build.ts and report/sweep.ts. */
export { type BuildOptions, type BuiltReport, buildReport, buildReportWithData, runMetrics, writeReport } from './build.ts';
export { loadReportData, type ReportData } from './data.ts';
export { buildFigures, type Figure } from './figures.ts';
export { type ClaimCheck, claimChecks, headlineMetrics } from './metrics.ts';
export { buildSweepReport, type SweepRow, sweepHtml } from './sweep.ts';
