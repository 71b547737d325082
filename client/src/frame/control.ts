/**
 * The small control that stays on the page after the visitor chose. Its first line says what the
 * CPU does now (sharing, resting and why, paused, off) and the tasks done this visit; "Details"
 * opens what it works on and for whom, the tasks and CPU time given to this site (this visit and
 * in all), the share, and "Forget me". DOM only: it is updated in place, so keyboard focus
 * survives a stats update, and it reports clicks as actions.
 */
import type { ConsentState } from './consent.ts';
import type { Texts } from './i18n.ts';
import type { PoolStatus } from './tabs.ts';
import type { Totals } from './choice.ts';

/** What the visitor can do from the control. `reconsider` shows the banner again. */
export type ControlAction =
  | { type: 'pause' | 'resume' | 'withdraw' | 'reconsider' | 'forget' }
  | { type: 'share'; share: number };

/** Everything the control shows. */
export interface ControlView {
  state: Exclude<ConsentState, 'undecided'>;
  status: PoolStatus | undefined;
  visit: Totals;
  total: Totals;
  share: number;
  shareChoices: number[];
  operator: string;
  error?: string | undefined;
}

/** A rendered control and the way to refresh it. */
export interface Control {
  element: HTMLElement;
  update(view: ControlView): void;
}

/** Builds the control; its root carries `data-state`, `data-completed` and `data-running`. */
export function createControl(texts: Texts, onAction: (action: ControlAction) => void): Control {
  const element = document.createElement('section');
  element.className = 'card control';
  element.setAttribute('aria-label', texts.controlLabel);

  const bar = document.createElement('div');
  bar.className = 'bar';
  const dot = document.createElement('span');
  dot.className = 'dot';
  dot.setAttribute('aria-hidden', 'true');
  const label = document.createElement('span');
  label.className = 'label';
  label.setAttribute('role', 'status');
  const error = document.createElement('span');
  error.className = 'error';
  error.setAttribute('role', 'alert');

  const toggle = button(() => onAction({ type: element.dataset['state'] === 'paused' ? 'resume' : 'pause' }));
  const stop = button(() => onAction({ type: 'withdraw' }), texts.stop);
  stop.title = texts.stopTitle;
  const turnOn = button(() => onAction({ type: 'reconsider' }), texts.turnOn);
  bar.append(dot, label, error, toggle, stop, turnOn);

  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = texts.details;
  const work = line();
  const operator = line();
  const visit = line();
  const total = line();

  const shareLabel = document.createElement('label');
  shareLabel.textContent = `${texts.share} `;
  const shareSelect = document.createElement('select');
  shareSelect.addEventListener('change', () => onAction({ type: 'share', share: Number(shareSelect.value) }));
  shareLabel.append(shareSelect);

  const forget = button(() => onAction({ type: 'forget' }), texts.forget);
  forget.title = texts.forgetTitle;
  forget.className = 'forget';
  details.append(summary, work, operator, visit, total, shareLabel, forget);
  element.append(bar, details);

  let shownChoices = '';

  return {
    element,
    update(view) {
      const status = view.status;
      setData(element, 'state', view.state);
      setData(element, 'completed', String(view.visit.tasks));
      setData(element, 'running', String(status?.running ?? 0));
      setData(element, 'paused', (status?.pausedBy ?? []).join(' '));
      setText(label, describe(view, texts));
      setText(error, view.error ?? '');
      error.hidden = !view.error;
      const off = view.state === 'declined';
      toggle.hidden = off;
      stop.hidden = off;
      turnOn.hidden = !off;
      details.hidden = off;
      setText(toggle, view.state === 'paused' ? texts.resume : texts.pause);

      const jobs = (status?.jobs ?? []).map((job) => [job.title, job.purpose].filter(Boolean).join(': ')).filter(Boolean);
      setText(work, `${texts.workingOn}${texts.colon}${jobs.length > 0 ? jobs.join('; ') : texts.nothingYet}`);
      setText(operator, texts.runBy(view.operator));
      setText(visit, `${texts.thisVisit}${texts.colon}${texts.tasks(view.visit.tasks)}, ${texts.cpu(view.visit.cpuMs)}`);
      setText(total, `${texts.inAll}${texts.colon}${texts.tasks(view.total.tasks)}, ${texts.cpu(view.total.cpuMs)}`);

      const choices = view.shareChoices.join(',');
      if (choices !== shownChoices) {
        shownChoices = choices;
        shareSelect.replaceChildren(
          ...view.shareChoices.map((share) => {
            const option = document.createElement('option');
            option.value = String(share);
            option.textContent = texts.shareNames[String(share)] ?? `${Math.round(share * 100)}%`;
            return option;
          }),
        );
      }
      shareSelect.value = String(view.share);
    },
  };
}

// Writing a node's text or attribute, even unchanged, invalidates style and paint: the control is
// refreshed on every stats update, so only real changes touch the DOM.
function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

function setData(node: HTMLElement, key: string, value: string): void {
  if (node.dataset[key] !== value) node.dataset[key] = value;
}

function describe(view: ControlView, texts: Texts): string {
  if (view.state === 'declined') return texts.off;
  const done = texts.tasks(view.visit.tasks);
  if (view.state === 'paused') return `${texts.paused} \u00b7 ${done}`;
  const reasons = (view.status?.pausedBy ?? []).filter((reason) => reason !== 'visitor');
  if (reasons.length > 0) {
    const why = reasons.map((reason) => texts.reasons[reason as keyof Texts['reasons']]).join(', ');
    return `${texts.pausedBecause(why)} \u00b7 ${done}`;
  }
  return `${texts.sharing} \u00b7 ${done}`;
}

function line(): HTMLParagraphElement {
  return document.createElement('p');
}

function button(onClick: () => void, label?: string): HTMLButtonElement {
  const element = document.createElement('button');
  element.type = 'button';
  if (label) element.textContent = label;
  element.addEventListener('click', onClick);
  return element;
}
