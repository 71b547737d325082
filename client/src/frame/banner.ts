/**
 * The consent banner: says plainly what sharing means and offers "Allow" / "No thanks".
 * DOM only: it renders and reports the visitor's click, nothing else.
 */
import type { ConsentEvent } from './consent.ts';

/**
 * How long "Allow" stays disabled after the banner appears. The host page positions the frame and
 * could slide it under the visitor's pointer just before a click meant for the page; a click that
 * lands this soon after the banner appeared is not a decision about it.
 */
export const ALLOW_ARMING_MS = 400;

/** Builds the banner; `dispatch` receives `accept` or `decline`. */
export function createBanner(dispatch: (event: ConsentEvent) => void): HTMLElement {
  const banner = document.createElement('section');
  banner.className = 'card banner';
  banner.setAttribute('aria-labelledby', 'sc-title');
  banner.setAttribute('aria-describedby', 'sc-text');

  const title = document.createElement('h2');
  title.id = 'sc-title';
  title.textContent = 'Share your idle CPU?';

  const text = document.createElement('p');
  text.id = 'sc-text';
  text.textContent =
    'This site can use some of your computer\u2019s spare processing power to run small computing tasks ' +
    'in the background while this page is open. It leaves at least one core free, sees nothing on the ' +
    'page, and you can pause or stop it at any time.';

  const actions = document.createElement('div');
  actions.className = 'actions';
  const allow = button('Allow', 'primary', () => dispatch('accept'));
  allow.disabled = true;
  setTimeout(() => (allow.disabled = false), ALLOW_ARMING_MS);
  actions.append(button('No thanks', '', () => dispatch('decline')), allow);

  banner.append(title, text, actions);
  return banner;
}

function button(label: string, className: string, onClick: () => void): HTMLButtonElement {
  const element = document.createElement('button');
  element.type = 'button';
  element.textContent = label;
  if (className) element.className = className;
  element.addEventListener('click', onClick);
  return element;
}
