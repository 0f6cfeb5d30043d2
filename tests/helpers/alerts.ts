/** Alerts that record what they were sent (for specs of jobs that notify). */
import type { AlertFields, Alerts } from '../../ts/io/services/alerts.ts';

/** Records every alert instead of delivering it. */
export class RecordingAlerts implements Alerts {
  sent: { title: string; message: string; fields: AlertFields }[] = [];
  async notify(title: string, message: string, fields: AlertFields = {}) {
    this.sent.push({ title, message, fields });
  }
  describe() {
    return 'RecordingAlerts';
  }
}
