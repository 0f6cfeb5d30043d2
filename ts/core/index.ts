/** Core: explainers and output table schemas. */
export * from './schemas.ts';
export * from './explainers.ts';
