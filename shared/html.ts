/** Text for HTML (element content or a quoted attribute): every character that could end either becomes a numeric reference. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}
