/**
 * The banner and the control are part of someone else's page: they must be usable with a keyboard
 * and a screen reader. axe-core checks the frame's document in the browser, before and after consent.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { createSite, hostPageUrl } from './support/api.ts';
import { FRAME_SELECTOR, embedFrame } from './support/frame.ts';
import { E2E } from './support/ports.ts';

// WCAG 2.1 A/AA rules; axe's page-level best practices (one <main>, an <h1>) are for whole pages,
// not for a small widget frame inside someone else's page.
const WCAG = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const audit = (page: Page) => new AxeBuilder({ page }).include(FRAME_SELECTOR).withTags(WCAG).analyze();

test('the consent banner and the control have no accessibility violations', async ({ page }) => {
  const siteKey = await createSite([E2E.hostOrigin]);
  await page.goto(hostPageUrl(siteKey));
  const frame = embedFrame(page);
  const allow = frame.getByRole('button', { name: 'Allow' });
  await expect(allow).toBeEnabled();

  const banner = await audit(page);
  expect(banner.violations.map((violation) => `${violation.id}: ${violation.help}`)).toEqual([]);
  // The audit did reach into the cross-origin frame: its buttons were checked.
  expect(banner.passes.map((rule) => rule.id)).toContain('button-name');

  // Keyboard only: the visitor can reach "Allow" and press it.
  await allow.focus();
  await page.keyboard.press('Enter');
  await expect(frame.locator('body')).toHaveAttribute('data-state', 'accepted');

  const control = await audit(page);
  expect(control.violations.map((violation) => `${violation.id}: ${violation.help}`)).toEqual([]);
});
