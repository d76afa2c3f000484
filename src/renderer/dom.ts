/**
 * The few DOM helpers the dashboard's views share.
 *
 * Runtime: browser. Views build elements with `el()` and set text through `textContent` only, never
 * `innerHTML`, so nothing a homeserver or a message says can become markup.
 */

export interface ElementProps {
  className?: string;
  text?: string;
  testId?: string;
  title?: string;
  /** `data-*` attributes, without the `data-` prefix. */
  data?: Record<string, string | number | boolean>;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElementProps = {},
  children: Array<Node | string> = [],
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.className) element.className = props.className;
  if (props.text !== undefined) element.textContent = props.text;
  if (props.testId) element.dataset.testid = props.testId;
  if (props.title) element.title = props.title;
  for (const [key, value] of Object.entries(props.data ?? {})) element.dataset[key] = String(value);
  element.append(...children);
  return element;
}

/** The element with `data-testid="id"` inside `root`; a missing one is a bug in index.html, so it throws. */
export function byTestId<T extends HTMLElement = HTMLElement>(root: ParentNode, id: string): T {
  const found = root.querySelector<T>(`[data-testid="${id}"]`);
  if (!found) throw new Error(`index.html has no element with data-testid="${id}"`);
  return found;
}

/** Sets text only when it changed, so an unchanged value does not disturb a selection or a screen reader. */
export function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}
