/**
 * Shows a notifier run's notification as an OS notification, as a phone's notification extension would.
 *
 * Runtime: electron-main. Where the desktop has no notification service (a headless CI machine), the dashboard's
 * notification list is the only display, and that is enough for the harness.
 */
import { Notification } from 'electron';
import type { NotificationView } from '../../shared/ui-api';

export function showOsNotification(notification: NotificationView): void {
  if (!Notification.isSupported()) return;
  new Notification({
    title: notification.title,
    body: notification.body,
    urgency: notification.dataMissing ? 'critical' : 'normal',
  }).show();
}
