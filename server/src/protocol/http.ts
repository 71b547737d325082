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

/**
 * An origin such as `https://example.com` or `http://localhost:8081`: http(s), a plain host name or
 * IP address, an optional port. Strict because origins go into the frame's CSP header verbatim.
 */
export const Origin = Type.String({
  pattern: '^https?://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+\\])(:[0-9]{1,5})?$',
  maxLength: 255,
});

export const CreateSiteBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    origins: Type.Array(Origin, { minItems: 1, maxItems: 50 }),
  },
  strict,
);
export type CreateSiteBody = Static<typeof CreateSiteBody>;

export const SiteInfo = Type.Object({
  siteKey: Type.String(),
  name: Type.String(),
  origins: Type.Array(Type.String()),
  createdAt: Type.Integer(),
  embed: Type.String({ description: 'The snippet to paste into the site' }),
});
export type SiteInfo = Static<typeof SiteInfo>;

export const CreateJobBody = Type.Object(
  {
    module: ModuleHash,
    inputs: Type.Array(Type.String({ contentEncoding: 'base64' }), { minItems: 1, maxItems: 100_000 }),
    title: Type.Optional(Type.String({ maxLength: 200 })),
    redundancy: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
    quorum: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
    /** Whether trusted volunteers may get tasks as single replicas, with spot checks (default true). */
    adaptiveReplication: Type.Optional(Type.Boolean()),
    /** Per-task deadline in ms: a lease not answered by then is taken back. */
    deadlineMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  strict,
);
export type CreateJobBody = Static<typeof CreateJobBody>;

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
  redundancy: Type.Integer(),
  quorum: Type.Integer(),
  adaptiveReplication: Type.Boolean(),
  deadlineMs: Type.Integer(),
  maxAttempts: Type.Integer(),
  priority: Type.Integer(),
  createdAt: Type.Integer(),
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

/** One NDJSON line of `GET /jobs/:id/results`, in input order. */
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
  errors: Type.Optional(Type.Array(TaskError)),
});
export type ResultLine = Static<typeof ResultLine>;
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
