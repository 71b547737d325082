/**
 * The banner and the control are part of someone else's page: they must be usable with a keyboard
 * and a screen reader, in every language and in a site's own colours. axe-core checks the frame's
 * document in the browser, before and after consent; consent is given by keyboard alone.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { createSite, hostPageUrl } from './support/api.ts';
import { FRAME_SELECTOR, embedFrame } from './support/frame.ts';
import { E2E } from './support/ports.ts';

// WCAG 2.1 A/AA rules; axe's page-level best practices (one <main>, an <h1>) are for whole pages,
// not for a small widget frame inside someone else's page.
const WCAG = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/**
 * axe's results for the frame. axe reaches into a cross-origin frame through Playwright's frame
 * handles; now and then one run comes back without the frame's rules (its content not yet
 * attached), so a run counts only once it checked the frame's buttons.
 */
async function audit(page: Page) {
  for (let attempt = 1; ; attempt += 1) {
    const results = await new AxeBuilder({ page }).include(FRAME_SELECTOR).withTags(WCAG).analyze();
    if (results.passes.some((rule) => rule.id === 'button-name') || attempt === 5) return results;
    await page.waitForTimeout(500);
  }
}

const SITE_COLOURS = { background: '#20252f', text: '#f4f1e8', accent: '#ffb000', accentText: '#1a1a1a' };

const cases = [
  { name: 'English, the browser\'s language', locale: 'en-US', settings: {}, allow: 'Allow', decline: 'No thanks', lang: 'en' },
  { name: 'French, from the browser\'s languages', locale: 'fr-FR', settings: {}, allow: 'Autoriser', decline: 'Non merci', lang: 'fr' },
  { name: 'French, set by the site for an English browser', locale: 'en-US', settings: { language: 'fr' }, allow: 'Autoriser', decline: 'Non merci', lang: 'fr' },
  {
    name: 'a site\'s own colours and message',
    locale: 'en-US',
    settings: { colors: SITE_COLOURS, message: 'Thanks for helping our research!' },
    allow: 'Allow',
    decline: 'No thanks',
    lang: 'en',
  },
];

for (const { name, locale, settings, allow: allowLabel, decline: declineLabel, lang } of cases) {
  test.describe(name, () => {
    test.use({ locale });

    test('no accessibility violations in the banner and the control; consent by keyboard alone', async ({ page }) => {
      const siteKey = await createSite([E2E.hostOrigin], settings);
      await page.goto(hostPageUrl(siteKey));
      const frame = embedFrame(page);
      const allow = frame.getByRole('button', { name: allowLabel });
      await expect(allow).toBeEnabled();
      await expect(frame.locator('html')).toHaveAttribute('lang', lang);
      await expect(frame.getByRole('button', { name: declineLabel })).toBeVisible();
      if ('message' in settings) await expect(frame.getByText(settings.message as string)).toBeVisible();

      const banner = await audit(page);
      expect(banner.violations.map((violation) => `${violation.id}: ${violation.help}`)).toEqual([]);
      // The audit did reach into the cross-origin frame: its buttons were checked.
      expect(banner.passes.map((rule) => rule.id)).toContain('button-name');

      // Keyboard only: Tab from the page into the frame until "Allow" has focus, then Enter.
      await page.waitForTimeout(1_000);
      for (let i = 0; i < 10; i += 1) {
        await page.keyboard.press('Tab');
        if (await allow.evaluate((button) => document.activeElement === button)) break;
      }
      await expect(allow).toBeFocused();
      await page.keyboard.press('Enter');
      await expect(frame.locator('body')).toHaveAttribute('data-state', 'accepted');

      // The control, with its details open.
      await frame.locator('summary').click();
      const control = await audit(page);
      expect(control.violations.map((violation) => `${violation.id}: ${violation.help}`)).toEqual([]);
    });
  });
}
