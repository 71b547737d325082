/** How the browser tests and benchmarks launch Debian's Chromium. */

/** Debian's Chromium by default; CHROMIUM_PATH points elsewhere on other machines. */
export const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const chromiumArgs: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Playwright's defaults disable ThirdPartyStoragePartitioning, which leaves a cross-site frame
  // with no storage at all. Real browsers partition it per embedding site, and the embed's
  // remembered consent depends on that. Chromium keeps the last value of a repeated switch, so this
  // list (Playwright's, minus that feature) replaces Playwright's own.
  '--disable-features=AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,' +
    'HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,AvoidCorsURLLoaderRestartOnRedirect,' +
    'OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch',
];
