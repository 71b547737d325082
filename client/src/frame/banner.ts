/**
 * The consent banner: says plainly what sharing means (from the settings in force) and offers
 * "No thanks" and "Allow", equally prominent. DOM only: a click on "Allow" is judged by the
 * clickjacking gate (gate.ts) before it becomes an `accept`.
 */
import type { ConsentEvent } from './consent.ts';
import { judgeAllow, shuffled, watchVisibility, type VisibilityWatch } from './gate.ts';
import type { PromiseFacts, Texts } from './i18n.ts';

/**
 * How long "Allow" stays disabled after the banner appears: a click that lands this soon after
 * the banner appeared is not a decision about it.
 */
export const ALLOW_ARMING_MS = 400;

export interface BannerOptions {
  texts: Texts;
  facts: PromiseFacts;
  /** The site's own short line, shown as plain text. */
  message: string | null;
  dispatch(event: ConsentEvent): void;
  random?: () => number;
}

export interface Banner {
  element: HTMLElement;
  /** Rebuilds the promise (the settings it states changed). */
  setFacts(facts: PromiseFacts): void;
  /** Focuses the first choice (after the visitor asked to see the banner again). */
  focus(): void;
}

export function createBanner(options: BannerOptions): Banner {
  const { texts, dispatch } = options;
  const random = options.random ?? Math.random;
  const banner = document.createElement('section');
  banner.className = 'card banner';
  banner.setAttribute('aria-labelledby', 'sc-title');
  banner.setAttribute('aria-describedby', 'sc-text');

  const title = document.createElement('h2');
  title.id = 'sc-title';
  title.textContent = texts.bannerTitle;

  const text = document.createElement('p');
  text.id = 'sc-text';
  text.textContent = texts.bannerText(options.facts);

  const message = document.createElement('p');
  message.className = 'site-message';
  // Plain text only: the site's words can never become markup here.
  message.textContent = options.message ?? '';
  message.hidden = !options.message;

  const notice = document.createElement('p');
  notice.className = 'notice';
  notice.setAttribute('role', 'alert');
  notice.hidden = true;

  const actions = document.createElement('div');
  actions.className = 'actions';
  const decline = button(texts.decline, () => dispatch('decline'));
  const allow = button(texts.allow, (event) => judge(event, () => showConfirmation()));
  allow.disabled = true;
  setTimeout(() => (allow.disabled = false), ALLOW_ARMING_MS);
  actions.append(decline, allow);

  banner.append(title, message, text, notice, actions);
  let watch: VisibilityWatch | undefined;
  // The observer needs the banner in the document; it starts when first shown.
  queueMicrotask(() => (watch = watchVisibility(banner)));

  function judge(event: MouseEvent, confirm: () => void): void {
    const verdict = watch
      ? judgeAllow({
          support: watch.support,
          visibleSince: watch.visibleSince(),
          now: performance.now(),
          // A click from the keyboard (Enter or Space on a focused button) has no pointer position.
          via: event.detail === 0 ? 'keyboard' : watch.lastPointerType() === 'mouse' || watch.lastPointerType() === undefined ? 'pointer' : 'tap',
          pointerMoved: watch.pointerMoved(),
          pointerSince: watch.pointerSince(),
        })
      : 'not-visible';
    if (verdict === 'accept') {
      notice.hidden = true;
      dispatch('accept');
    } else if (verdict === 'confirm') {
      confirm();
    } else {
      notice.textContent = texts.notVisible;
      notice.hidden = false;
    }
  }

  /** The second step where visibility cannot be checked: its buttons' order is the frame's secret. */
  function showConfirmation(): void {
    const prompt = document.createElement('p');
    prompt.textContent = texts.confirmPrompt;
    // Whatever is chosen here, the banner shows its first step next time (never this one's order).
    const yes = button(texts.confirmYes, (event) => judge(event, () => (restore(), dispatch('accept'))));
    const back = button(texts.confirmBack, () => restore());
    const no = button(texts.decline, () => (restore(), dispatch('decline')));
    const confirmRow = document.createElement('div');
    confirmRow.className = 'actions';
    confirmRow.append(...shuffled([yes, back, no], random));
    actions.replaceWith(confirmRow);
    notice.replaceWith(prompt);
    prompt.id = 'sc-confirm';
    const restore = (): void => {
      confirmRow.replaceWith(actions);
      prompt.replaceWith(notice);
    };
  }

  return {
    element: banner,
    setFacts(facts) {
      text.textContent = texts.bannerText(facts);
    },
    focus: () => decline.focus(),
  };
}

function button(label: string, onClick: (event: MouseEvent) => void): HTMLButtonElement {
  const element = document.createElement('button');
  element.type = 'button';
  element.textContent = label;
  element.addEventListener('click', onClick);
  return element;
}
