/**
 * REST API `/api/v1` schemas, declared once: TypeBox gives validation and TypeScript types.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ModuleHash } from './events.ts';

const strict = { additionalProperties: false } as const;

export const API_PREFIX = '/api/v1';

export const ModuleInfo = Type.Object({
  hash: ModuleHash,
  abi: Type.Union([Type.Literal('bytes'), Type.Literal('wasi')]),
  size: Type.Integer(),
});
export type ModuleInfo = Static<typeof ModuleInfo>;
export type ModuleAbi = ModuleInfo['abi'];

/** `GET /modules/:hash`: the module's info, when it was uploaded and where volunteers download it. */
export const ModuleMeta = Type.Composite([
  ModuleInfo,
  Type.Object({ createdAt: Type.Integer(), url: Type.String({ description: 'where volunteers download the bytes' }) }),
]);
export type ModuleMeta = Static<typeof ModuleMeta>;

/**
 * An origin such as `https://example.com` or `http://localhost:8081`: http(s), a plain host name or
 * IP address, an optional port. Strict because origins go into the frame's CSP header verbatim.
 */
export const Origin = Type.String({
  pattern: '^https?://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+\\])(:[0-9]{1,5})?$',
  maxLength: 255,
});

/**
 * Plain text for the frame to show (a site's banner line, a job's purpose): one line, no control
 * characters (C0, DEL, C1) and no lone UTF-16 surrogates. The frame renders it with `textContent`;
 * the pattern keeps out what would still garble or break a line there.
 */
export function PlainText(maxLength: number, minLength = 0) {
  return Type.String({
    minLength,
    maxLength,
    pattern: '^(?:[^\\u0000-\\u001F\\u007F-\\u009F\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$',
    description: 'plain text: no control characters or lone surrogates',
  });
}

/** A colour as `#rrggbb`. */
export const HexColor = Type.String({ pattern: '^#[0-9A-Fa-f]{6}$', description: 'a colour as #rrggbb' });

/**
 * The frame's colours. Accepted only when `text` on `background` and `accentText` on `accent`
 * reach WCAG AA contrast (4.5:1) and `accent` against `background` reaches 3:1.
 */
export const SiteColors = Type.Object(
  { background: HexColor, text: HexColor, accent: HexColor, accentText: HexColor },
  strict,
);
export type SiteColors = Static<typeof SiteColors>;

/**
 * How a site's visitors are asked and how much they give: the site owner's bounds. Responses carry
 * every field (defaults filled in); requests may give any subset, and a given field replaces that
 * field.
 */
export const SiteSettings = Type.Object(
  {
    /** Workers at most; null: the visitor's cores minus one. */
    maxWorkers: Type.Union([Type.Integer({ minimum: 1, maximum: 64 }), Type.Null()]),
    /** The highest duty cycle a visitor may choose. */
    maxShare: Type.Number({ minimum: 0.1, maximum: 1 }),
    /** The duty cycle a visitor starts with (at most `maxShare`). */
    defaultShare: Type.Number({ minimum: 0.1, maximum: 1 }),
    /** Pause while the page is hidden. */
    pauseWhenHidden: Type.Boolean(),
    /** Modules (uploaded) the host page may run through its own `run()` API. */
    runModules: Type.Array(ModuleHash, { maxItems: 100 }),
    /** Per-visitor limit of the host page's `run()` calls per minute. */
    runPerMinute: Type.Integer({ minimum: 1, maximum: 600 }),
    /** The banner's language; `auto` follows the visitor's browser. */
    language: Type.Union([Type.Literal('auto'), Type.Literal('en'), Type.Literal('fr')]),
    /** A short line the site adds to the banner, or null. */
    message: Type.Union([PlainText(200), Type.Null()]),
    /** The frame's colours, or null for the frame's own. */
    colors: Type.Union([SiteColors, Type.Null()]),
  },
  strict,
);
export type SiteSettings = Static<typeof SiteSettings>;

/** Settings in a request: any subset of `SiteSettings`. */
export const SiteSettingsInput = Type.Partial(SiteSettings, strict);
export type SiteSettingsInput = Static<typeof SiteSettingsInput>;

const SiteName = Type.String({ minLength: 1, maxLength: 200 });
const SiteOrigins = Type.Array(Origin, { minItems: 1, maxItems: 50 });

export const CreateSiteBody = Type.Object(
  {
    name: SiteName,
    origins: SiteOrigins,
    settings: Type.Optional(SiteSettingsInput),
  },
  strict,
);
export type CreateSiteBody = Static<typeof CreateSiteBody>;

/** `PATCH /sites/:key`: a given field replaces that field (within `settings`, field by field). */
export const UpdateSiteBody = Type.Object(
  {
    name: Type.Optional(SiteName),
    origins: Type.Optional(SiteOrigins),
    settings: Type.Optional(SiteSettingsInput),
  },
  strict,
);
export type UpdateSiteBody = Static<typeof UpdateSiteBody>;

export const SiteInfo = Type.Object({
  siteKey: Type.String(),
  name: Type.String(),
  origins: Type.Array(Type.String()),
  createdAt: Type.Integer(),
  embed: Type.String({ description: 'The snippet to paste into the site' }),
  settings: SiteSettings,
  /** Whose site it is: the site key's id, or `operator`. */
  owner: Type.String(),
});
export type SiteInfo = Static<typeof SiteInfo>;

/**
 * What `GET /frame?site=KEY` hands the frame, as JSON in
 * `<script type="application/json" id="sparecycles-config">` just before `</head>`.
 */
export const FrameConfig = Type.Object({
  siteKey: Type.String(),
  siteName: Type.String(),
  /** Who runs the coordinator (`SPARECYCLES_OPERATOR`, else the public URL's host). */
  operator: Type.String(),
  settings: SiteSettings,
});
export type FrameConfig = Static<typeof FrameConfig>;

/** The id of the frame's config element. */
export const FRAME_CONFIG_ELEMENT_ID = 'sparecycles-config' as const;

/** A job's options: everything but its inputs (the first line or frame of a streamed job). */
const jobOptionFields = {
  module: ModuleHash,
  title: Type.Optional(Type.String({ maxLength: 200 })),
  /** What the work is for, shown to the volunteers who compute it. */
  purpose: Type.Optional(PlainText(280)),
  redundancy: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
  quorum: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
  /** Whether trusted volunteers may get tasks as single replicas, with spot checks (default true). */
  adaptiveReplication: Type.Optional(Type.Boolean()),
  /** Per-task deadline in ms: a lease not answered by then is taken back. */
  deadlineMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
  maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  /**
   * Leave the job open for more inputs (`POST /jobs/:id/inputs`) until `POST /jobs/:id/close`;
   * an open job is never completed. Default false.
   */
  open: Type.Optional(Type.Boolean()),
};

/** `POST /jobs` as `application/json`: the options and every input as base64. */
export const CreateJobBody = Type.Object(
  {
    ...jobOptionFields,
    inputs: Type.Array(Type.String({ contentEncoding: 'base64' }), { minItems: 1, maxItems: 100_000 }),
  },
  strict,
);
export type CreateJobBody = Static<typeof CreateJobBody>;

/** The first line (NDJSON) or frame (binary) of a streamed `POST /jobs`: the options without inputs. */
export const JobOptions = Type.Object(jobOptionFields, strict);
export type JobOptions = Static<typeof JobOptions>;

/** Content type of a streamed job as NDJSON: options line, then `{"base64"}` or `{"text"}` lines. */
export const NDJSON_TYPE = 'application/x-ndjson';
/**
 * Content type of a streamed job as length-prefixed frames: u32 big-endian N + N bytes of options
 * JSON (on `POST /jobs` only), then repeated u32 big-endian L + L bytes of one input.
 */
export const INPUT_FRAMES_TYPE = 'application/x-sparecycles-inputs';

/** One input line of a streamed job: raw bytes as canonical base64, or text sent as its UTF-8 bytes. */
export const InputLine = Type.Union([
  Type.Object({ base64: Type.String({ contentEncoding: 'base64' }) }, strict),
  Type.Object({ text: Type.String() }, strict),
]);
export type InputLine = Static<typeof InputLine>;

/** `POST /jobs/:id/inputs`: how many inputs this request added and the job's total now. */
export const AppendReply = Type.Object({ added: Type.Integer(), total: Type.Integer() });
export type AppendReply = Static<typeof AppendReply>;

export const JobState = Type.Union([
  Type.Literal('active'),
  Type.Literal('completed'),
  Type.Literal('cancelled'),
]);
export type JobState = Static<typeof JobState>;

export const TaskCounts = Type.Object({
  total: Type.Integer(),
  pending: Type.Integer(),
  running: Type.Integer(),
  completed: Type.Integer(),
  failed: Type.Integer(),
  cancelled: Type.Integer(),
});
export type TaskCounts = Static<typeof TaskCounts>;

export const JobStatus = Type.Object({
  id: Type.String(),
  state: JobState,
  module: ModuleHash,
  title: Type.Optional(Type.String()),
  purpose: Type.Optional(Type.String()),
  redundancy: Type.Integer(),
  quorum: Type.Integer(),
  adaptiveReplication: Type.Boolean(),
  deadlineMs: Type.Integer(),
  maxAttempts: Type.Integer(),
  priority: Type.Integer(),
  createdAt: Type.Integer(),
  /** Still taking inputs (`POST /jobs/:id/inputs`); an open job is never completed. */
  open: Type.Boolean(),
  /** The site whose page asked for this job through `run()`; absent for ordinary jobs. */
  site: Type.Optional(Type.String()),
  /** Whose job it is: the author key's id, or `operator`. */
  owner: Type.String(),
  counts: TaskCounts,
});
export type JobStatus = Static<typeof JobStatus>;

export const TaskError = Type.Object({
  attempt: Type.Integer(),
  kind: Type.String(),
  message: Type.String(),
  at: Type.Integer(),
});
export type TaskError = Static<typeof TaskError>;

/** One NDJSON line of `GET /jobs/:id/results`. */
export const ResultLine = Type.Object({
  index: Type.Integer(),
  state: Type.Union([
    Type.Literal('pending'),
    Type.Literal('running'),
    Type.Literal('completed'),
    Type.Literal('failed'),
    Type.Literal('cancelled'),
  ]),
  output: Type.Optional(Type.String({ contentEncoding: 'base64' })),
  /** With `?text=1`: the output as text, when it is valid UTF-8. */
  text: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(TaskError)),
});
export type ResultLine = Static<typeof ResultLine>;

const Switch = Type.Union([Type.Literal('0'), Type.Literal('1'), Type.Literal('true'), Type.Literal('false')], {
  description: '1 or 0',
});

/**
 * `GET /jobs/:id/results?order=&follow=&text=`: `order=input` (default: every task, in input
 * order) or `completion` (settled tasks in the order they settled); `follow=1` keeps the stream
 * open until the job ends, sending each result as it is accepted; `text=1` adds `text`.
 */
export const ResultsQuery = Type.Object(
  {
    order: Type.Optional(Type.Union([Type.Literal('input'), Type.Literal('completion')], { description: 'input or completion' })),
    follow: Type.Optional(Switch),
    text: Type.Optional(Switch),
  },
  strict,
);
export type ResultsQuery = Static<typeof ResultsQuery>;

/** `GET /jobs?state=&limit=`: the caller's jobs, newest first. */
export const ListJobsQuery = Type.Object(
  {
    state: Type.Optional(JobState),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: 'a number of jobs, 1-1000' })),
  },
  strict,
);
export type ListJobsQuery = Static<typeof ListJobsQuery>;

export const JobList = Type.Object({ jobs: Type.Array(JobStatus) });
export type JobList = Static<typeof JobList>;
export type TaskState = ResultLine['state'];

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, strict);

/** A volunteer's record: what its results earned it (see docs/scheduling.md). */
export const VolunteerInfo = Type.Object({
  id: Type.String(),
  /** Compared results in a row that agreed with the accepted output. */
  consecutiveValid: Type.Integer(),
  valid: Type.Integer(),
  invalid: Type.Integer(),
  unchecked: Type.Integer(),
  errors: Type.Integer(),
  /** Leases it may hold at once. */
  quota: Type.Integer(),
  /** Disagreements and expired leases in a row since its last accepted or agreeing result. */
  strikes: Type.Integer(),
  /** Until when (epoch ms) it gets no lease after its latest strike; 0 when it may get work now. */
  coolingDownUntil: Type.Integer(),
  /** Whether it may get single replicas (with spot checks). */
  trusted: Type.Boolean(),
  firstSeen: Type.Integer(),
  lastSeen: Type.Integer(),
});
export type VolunteerInfo = Static<typeof VolunteerInfo>;

export const VolunteerParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{8,128}$' }) }, strict);

/** `/sites/:key/run…`: the site's key as the embed snippet carries it. */
export const RunSiteParams = Type.Object({ key: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }) }, strict);

/** `POST /sites/:key/run?module=HASH`, the raw input as an `application/octet-stream` body. */
export const RunQuery = Type.Object({ module: ModuleHash }, strict);
export type RunQuery = Static<typeof RunQuery>;

export const RunIdParams = Type.Object(
  { key: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }), id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) },
  strict,
);

/** The longest a result request is held open, in ms. */
export const MAX_RUN_WAIT_MS = 25_000;

/** `GET /sites/:key/run/:id?waitMs=…`: how long to hold the request open for the result (0–25000 ms). */
export const RunWaitQuery = Type.Object(
  { waitMs: Type.Optional(Type.String({ pattern: '^[0-9]{1,5}$', description: 'milliseconds, 0-25000' })) },
  strict,
);
export type RunWaitQuery = Static<typeof RunWaitQuery>;

/** Runs one frame may wait for in one request. */
export const MAX_RUN_WATCH_IDS = 64;

/**
 * `GET /sites/:key/runs?ids=a,b,c&waitMs=…`: one held request for many runs (a browser keeps only
 * six connections per host, so one long-poll per run would starve the frame's own socket).
 */
export const RunWatchQuery = Type.Object(
  {
    ids: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}(,[A-Za-z0-9_-]{1,64}){0,63}$', description: 'up to 64 run ids, comma-separated' }),
    waitMs: Type.Optional(Type.String({ pattern: '^[0-9]{1,5}$', description: 'milliseconds, 0-25000' })),
  },
  strict,
);
export type RunWatchQuery = Static<typeof RunWatchQuery>;

/** Which of the watched runs have settled (fetch each with `GET /sites/:key/run/:id`); empty on timeout. */
export const RunWatchReply = Type.Object({ settled: Type.Array(Type.String()) });
export type RunWatchReply = Static<typeof RunWatchReply>;

/**
 * A run's state when it has no output (yet): `pending` (202, ask again), `failed` or `cancelled`
 * (200, with the reason as a coded error: the failure's kind, e.g. `trap`, or `no_volunteer`).
 * A completed run answers 200 with its output as `application/octet-stream` instead.
 */
export const RunStatus = Type.Object({
  id: Type.String(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('failed'), Type.Literal('cancelled')]),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});
export type RunStatus = Static<typeof RunStatus>;

/** Priority of a page's one-task `run()` jobs: above the default 100 of batch jobs. */
export const RUN_PRIORITY = 200;

/** The roles of the keys the operator hands out (the operator's own key is not one of them). */
export const KeyRole = Type.Union([Type.Literal('author'), Type.Literal('site')]);
export type KeyRole = Static<typeof KeyRole>;

/** `POST /keys`: a key for a task author or a site owner, named so the operator knows whose it is. */
export const CreateKeyBody = Type.Object({ role: KeyRole, name: PlainText(100, 1) }, strict);
export type CreateKeyBody = Static<typeof CreateKeyBody>;

/** A key as listed: never its secret nor the secret's hash. */
export const KeyInfo = Type.Object({
  id: Type.String(),
  role: KeyRole,
  name: Type.String(),
  createdAt: Type.Integer(),
  /** When it was revoked (epoch ms), or null while it works. */
  revokedAt: Type.Union([Type.Integer(), Type.Null()]),
});
export type KeyInfo = Static<typeof KeyInfo>;

/** The answer to `POST /keys`: the only time the secret is shown. */
export const CreatedKey = Type.Object({ ...KeyInfo.properties, secret: Type.String() });
export type CreatedKey = Static<typeof CreatedKey>;

export const KeyList = Type.Object({ keys: Type.Array(KeyInfo) });
export type KeyList = Static<typeof KeyList>;

/** `/keys/:id`: a key id as `newKeyId` makes them. */
export const KeyIdParams = Type.Object({ id: Type.String({ pattern: '^k_[A-Za-z0-9_-]{1,64}$' }) }, strict);

/** `GET /grid`: the grid as any caller may see it. */
export const GridInfo = Type.Object({
  /** Volunteer connections (sessions) this coordinator holds now. */
  volunteersOnline: Type.Integer(),
});
export type GridInfo = Static<typeof GridInfo>;
