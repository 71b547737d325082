/**
 * WCAG 2.x contrast between two sRGB colours, for the site colours the frame accepts. Pure.
 * https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio
 */

/** WCAG AA for normal text. */
export const TEXT_CONTRAST = 4.5;
/** WCAG AA for user-interface components against their surroundings (1.4.11). */
export const UI_CONTRAST = 3;

/** Relative luminance (0 black … 1 white) of `#rrggbb`; throws on anything else. */
export function relativeLuminance(hex: string): number {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!match) throw new RangeError(`${hex} is not a #rrggbb colour`);
  const [r, g, b] = match.slice(1).map((part) => {
    const c = parseInt(part, 16) / 255;
    // 0.04045 is sRGB's own threshold (WCAG 2.1 prints 0.03928; no 8-bit value lies between them).
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The contrast ratio of two `#rrggbb` colours, 1 (same) to 21 (black on white), order-free. */
export function contrastRatio(a: string, b: string): number {
  const la = relativeLuminance(a);
  const lb = relativeLuminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}
