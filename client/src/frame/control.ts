/**
 * The small control that stays on the page after the visitor chose: the state, the tasks done,
 * and Pause/Resume and Stop (or "Turn on" after a decline). DOM only: it is updated in place, so
 * keyboard focus survives a stats update, and it reports clicks as actions.
 */
import type { ConsentState } from './consent.ts';

/** What the visitor can do from the control. `reconsider` shows the banner again. */
export type ControlAction = 'pause' | 'resume' | 'withdraw' | 'reconsider';

/** Everything the control shows. */
export interface ControlView {
  state: Exclude<ConsentState, 'undecided'>;
  completed: number;
  running: number;
  error?: string | undefined;
}

/** A rendered control and the way to refresh it. */
export interface Control {
  element: HTMLElement;
  update(view: ControlView): void;
}

/** Builds the control; its root carries `data-state`, `data-completed` and `data-running`. */
export function createControl(onAction: (action: ControlAction) => void): Control {
  const element = document.createElement('section');
  element.className = 'card control';
  element.setAttribute('aria-label', 'sparecycles CPU sharing');

  const dot = document.createElement('span');
  dot.className = 'dot';
  dot.setAttribute('aria-hidden', 'true');
  const label = document.createElement('span');
  label.setAttribute('role', 'status');
  const error = document.createElement('span');
  error.className = 'error';
  error.setAttribute('role', 'alert');

  const toggle = button(() => onAction(element.dataset['state'] === 'paused' ? 'resume' : 'pause'));
  const stop = button(() => onAction('withdraw'));
  stop.textContent = 'Stop';
  stop.title = 'Stop sharing CPU on this site';
  const turnOn = button(() => onAction('reconsider'));
  turnOn.textContent = 'Turn on';

  element.append(dot, label, error, toggle, stop, turnOn);

  return {
    element,
    update(view) {
      element.dataset['state'] = view.state;
      element.dataset['completed'] = String(view.completed);
      element.dataset['running'] = String(view.running);
      label.textContent = describe(view);
      error.textContent = view.error ?? '';
      error.hidden = !view.error;
      const off = view.state === 'declined';
      toggle.hidden = off;
      stop.hidden = off;
      turnOn.hidden = !off;
      toggle.textContent = view.state === 'paused' ? 'Resume' : 'Pause';
    },
  };
}

function describe(view: ControlView): string {
  if (view.state === 'declined') return 'CPU sharing off';
  const tasks = `${view.completed} ${view.completed === 1 ? 'task' : 'tasks'} done`;
  return view.state === 'paused' ? `Paused \u00b7 ${tasks}` : `Sharing CPU \u00b7 ${tasks}`;
}

function button(onClick: () => void): HTMLButtonElement {
  const element = document.createElement('button');
  element.type = 'button';
  element.addEventListener('click', onClick);
  return element;
}
