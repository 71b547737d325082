/**
 * The banner's and the control's words, in English and French, chosen from the browser's
 * languages unless the site sets one. The banner's promise is built from the settings in force,
 * so it says what the policy really does under every setting and with any number of tabs.
 */

export type Language = 'en' | 'fr';

/** What the promise depends on. */
export interface PromiseFacts {
  /** Workers that may run (cores − 1 at most, and the site's cap). */
  workers: number;
  /** Whether a core stays free: true only when the browser says there are two or more. */
  leavesOneFree: boolean;
  /** Whether all tabs share one pool (the browser has Web Locks). */
  oneAllowance: boolean;
  /** The duty cycle a visitor starts with, and the highest they may choose (0.1–1). */
  share: number;
  maxShare: number;
  pauseWhenHidden: boolean;
}

export interface Texts {
  lang: Language;
  /** A label's separator: French typography puts a space before the colon. */
  colon: string;
  bannerTitle: string;
  bannerText(facts: PromiseFacts): string;
  allow: string;
  decline: string;
  /** Why a click on Allow did not count. */
  notVisible: string;
  confirmPrompt: string;
  confirmYes: string;
  confirmBack: string;
  sharing: string;
  paused: string;
  off: string;
  waiting: string;
  /** Why the pool rests, for the control's status line. */
  pausedBecause(reason: string): string;
  reasons: Record<'battery' | 'save-data' | 'hidden' | 'pressure' | 'page-busy' | 'page-input', string>;
  tasks(count: number): string;
  cpu(ms: number): string;
  thisVisit: string;
  inAll: string;
  workingOn: string;
  nothingYet: string;
  runBy(operator: string): string;
  share: string;
  shareNames: Record<string, string>;
  pause: string;
  resume: string;
  stop: string;
  stopTitle: string;
  turnOn: string;
  forget: string;
  forgetTitle: string;
  details: string;
  controlLabel: string;
  notAvailable: string;
  couldNotStart: string;
}

const percent = (share: number): string => `${Math.round(share * 100)}%`;

const en: Texts = {
  lang: 'en',
  colon: ': ',
  bannerTitle: 'Share your idle CPU?',
  bannerText: (f) =>
    `This site can use spare processing power of your computer for small computing tasks while this page is open: ` +
    `at most ${f.workers} ${f.workers === 1 ? 'core' : 'cores'}${f.leavesOneFree ? ', always leaving one free' : ''}, each busy ${percent(f.share)} of the time` +
    `${f.maxShare > f.share ? ` (you can change that)` : ''}${f.oneAllowance ? ', one allowance for all your tabs of this site' : ''}. ` +
    `It pauses${f.pauseWhenHidden ? ' when no tab of this site is visible,' : ''} while you use the page, and when your browser says your device is on battery or under load. ` +
    `It sees nothing on the page, and you can pause or stop it at any time.`,
  allow: 'Allow',
  decline: 'No thanks',
  notVisible: 'This box must be fully visible for a moment before your choice counts. Please look, then choose again.',
  confirmPrompt: 'Please confirm: share idle CPU with this site?',
  confirmYes: 'Yes, share',
  confirmBack: 'Go back',
  sharing: 'Sharing CPU',
  paused: 'Paused',
  off: 'CPU sharing off',
  waiting: 'Waiting for work',
  pausedBecause: (reason) => `Resting: ${reason}`,
  reasons: {
    battery: 'on battery',
    'save-data': 'data saver is on',
    hidden: 'page hidden',
    pressure: 'computer busy',
    'page-busy': 'page busy',
    'page-input': 'you are using the page',
  },
  tasks: (count) => `${count} ${count === 1 ? 'task' : 'tasks'}`,
  cpu: (ms) => formatDuration(ms, 'en'),
  thisVisit: 'This visit',
  inAll: 'In all',
  workingOn: 'Working on',
  nothingYet: 'nothing right now',
  runBy: (operator) => `Grid run by ${operator}`,
  share: 'Share',
  shareNames: { '0.25': 'Light (25%)', '0.5': 'Normal (50%)', '1': 'Full (100%)' },
  pause: 'Pause',
  resume: 'Resume',
  stop: 'Stop',
  stopTitle: 'Stop sharing CPU on this site, in every tab',
  turnOn: 'Turn on',
  forget: 'Forget me',
  forgetTitle: 'Stop, and delete everything stored for this site: your choice, your anonymous id, cached modules and unsent results',
  details: 'Details',
  controlLabel: 'sparecycles CPU sharing',
  notAvailable: 'Not available on this site',
  couldNotStart: 'Could not start',
};

const fr: Texts = {
  lang: 'fr',
  colon: '\u00a0: ',
  bannerTitle: 'Partager votre processeur inutilisé ?',
  bannerText: (f) =>
    `Ce site peut utiliser la puissance de calcul inutilisée de votre ordinateur pour de petites tâches tant que cette page est ouverte : ` +
    `au plus ${f.workers} ${f.workers === 1 ? 'cœur' : 'cœurs'}${f.leavesOneFree ? ', en laissant toujours un cœur libre' : ''}, chacun occupé ${percent(f.share).replace('%', '\u00a0%')} du temps` +
    `${f.maxShare > f.share ? ' (modifiable)' : ''}${f.oneAllowance ? ', une seule part pour tous vos onglets de ce site' : ''}. ` +
    `Il se met en pause${f.pauseWhenHidden ? ' quand aucun onglet de ce site n’est visible,' : ''} pendant que vous utilisez la page, et quand votre navigateur signale que l’appareil est sur batterie ou chargé. ` +
    `Il ne voit rien de la page, et vous pouvez le suspendre ou l’arrêter à tout moment.`,
  allow: 'Autoriser',
  decline: 'Non merci',
  notVisible: 'Ce cadre doit être entièrement visible un instant avant que votre choix compte. Regardez-le, puis choisissez à nouveau.',
  confirmPrompt: 'Confirmez-vous le partage du processeur avec ce site ?',
  confirmYes: 'Oui, partager',
  confirmBack: 'Retour',
  sharing: 'Partage en cours',
  paused: 'En pause',
  off: 'Partage désactivé',
  waiting: 'En attente de travail',
  pausedBecause: (reason) => `Au repos : ${reason}`,
  reasons: {
    battery: 'sur batterie',
    'save-data': 'économiseur de données actif',
    hidden: 'page cachée',
    pressure: 'ordinateur chargé',
    'page-busy': 'page occupée',
    'page-input': 'vous utilisez la page',
  },
  tasks: (count) => `${count} ${count <= 1 ? 'tâche' : 'tâches'}`,
  cpu: (ms) => formatDuration(ms, 'fr'),
  thisVisit: 'Cette visite',
  inAll: 'Au total',
  workingOn: 'En cours',
  nothingYet: 'rien pour l’instant',
  runBy: (operator) => `Grille gérée par ${operator}`,
  share: 'Part',
  shareNames: { '0.25': 'Légère (25\u00a0%)', '0.5': 'Normale (50\u00a0%)', '1': 'Complète (100\u00a0%)' },
  pause: 'Pause',
  resume: 'Reprendre',
  stop: 'Arrêter',
  stopTitle: 'Arrêter le partage sur ce site, dans tous les onglets',
  turnOn: 'Activer',
  forget: 'M’oublier',
  forgetTitle: 'Arrêter et effacer tout ce qui est stocké pour ce site : votre choix, votre identifiant anonyme, les modules en cache et les résultats non envoyés',
  details: 'Détails',
  controlLabel: 'Partage de processeur sparecycles',
  notAvailable: 'Indisponible sur ce site',
  couldNotStart: 'Démarrage impossible',
};

const TEXTS: Readonly<Record<Language, Texts>> = { en, fr };

/** The site's language when it set one, else the first of the browser's languages we speak, else English. */
export function pickLanguage(setting: 'auto' | Language, browserLanguages: readonly string[]): Language {
  if (setting !== 'auto') return setting;
  for (const tag of browserLanguages) {
    const base = tag.toLowerCase().split('-')[0];
    if (base === 'en' || base === 'fr') return base;
  }
  return 'en';
}

export function textsFor(language: Language): Texts {
  return TEXTS[language];
}

/** `1.2 s`, `3 min 4 s`, `2 h 5 min`: CPU time as people read it. */
export function formatDuration(ms: number, language: Language): string {
  const seconds = Math.max(0, ms) / 1000;
  const nbsp = language === 'fr' ? '\u00a0' : ' ';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1).replace('.', language === 'fr' ? ',' : '.') : Math.round(seconds)}${nbsp}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}${nbsp}min ${Math.round(seconds - minutes * 60)}${nbsp}s`;
  const hours = Math.floor(minutes / 60);
  return `${hours}${nbsp}h ${minutes - hours * 60}${nbsp}min`;
}
