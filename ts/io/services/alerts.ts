/**
 * Alerts: tell people how a run went (key figures), on the console or a webhook.
 *
 * ```ts
 * const alerts = createAlerts({ KIND: 'WebhookAlerts', url: 'https://hooks.slack.com/services/…' });
 * await alerts.notify('Explanations done', 'bikes@Champion on 1,000 samples', { rows: 1000, seconds: 1.2 });
 * ```
 */
import { z } from 'zod';
import { validate } from '../../config/errors.ts';
import { ConsoleAlerts, ConsoleAlertsConfig } from './console_alerts.ts';
import { WebhookAlerts, WebhookAlertsConfig } from './webhook_alerts.ts';

export { ConsoleAlerts, ConsoleAlertsConfig, WebhookAlerts, WebhookAlertsConfig };

/** Key figures attached to an alert. */
export type AlertFields = Record<string, string | number>;

/** Sends alerts. */
export interface Alerts {
  /** Sends one alert. @throws naming the destination when it cannot be delivered. */
  notify(title: string, message: string, fields?: AlertFields): Promise<void>;
  /** One line for logs. */
  describe(): string;
}

/** Any alerts config, chosen by `KIND` (default `{KIND: ConsoleAlerts}`). */
export const AlertsConfig = z.discriminatedUnion('KIND', [ConsoleAlertsConfig, WebhookAlertsConfig]);
/** Any alerts config, chosen by `KIND`, as written. */
export type AlertsConfig = z.input<typeof AlertsConfig>;
/** Any alerts config, validated. */
export type ValidAlertsConfig = z.output<typeof AlertsConfig>;

/**
 * Builds the alerts a config describes, validating it first (the library's
 * boundary; a job builds from its validated config with {@link alertsOf});
 * `undefined` gives ConsoleAlerts.
 * @param prefix key path of the config inside a larger one, for error messages.
 */
export function createAlerts(config: unknown = { KIND: 'ConsoleAlerts' }, prefix = ''): Alerts {
  return alertsOf(validate(AlertsConfig, config ?? { KIND: 'ConsoleAlerts' }, { what: 'alerts config', prefix }));
}

/** The alerts of a validated config. */
export function alertsOf(cfg: ValidAlertsConfig): Alerts {
  switch (cfg.KIND) {
    case 'ConsoleAlerts':
      return new ConsoleAlerts();
    case 'WebhookAlerts':
      return new WebhookAlerts(cfg);
  }
}
