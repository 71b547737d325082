/**
 * Who is calling the REST API. The operator (the coordinator's own key) sees and changes everything;
 * an `author` key owns the modules and jobs it makes; a `site` key owns the sites it registers.
 * Records carry their owner: `OPERATOR` for the operator's, else the key's id.
 */
export type Role = 'operator' | 'author' | 'site';

export const OPERATOR = 'operator';

export interface Principal {
  role: Role;
  /** What records this caller makes are stamped with, and the only ones a non-operator sees. */
  owner: string;
}

export const operatorPrincipal: Principal = Object.freeze({ role: 'operator', owner: OPERATOR });

/** True when this caller may see or change a record stamped with `owner`. */
export function canSee(principal: Principal, owner: string): boolean {
  return principal.role === 'operator' || principal.owner === owner;
}

/** The owner filter for a listing: undefined (everything) for the operator. */
export function ownerFilter(principal: Principal): string | undefined {
  return principal.role === 'operator' ? undefined : principal.owner;
}
