/** The coordinator as a volunteer's loop sees it: the `/volunteer` events, whatever carries them. */
import type { AckReply, AdoptedNotice, FailRequest, LeaseReply, LeaseRequest, ResultRequest, RevokeNotice } from '../../../server/src/protocol/events.ts';
import type { Disposer } from './timers.ts';

/** The coordinator as the loop sees it (a Socket.IO socket in practice). */
export interface CoordinatorLink {
  connected(): boolean;
  lease(request: LeaseRequest): Promise<LeaseReply>;
  result(request: ResultRequest): Promise<AckReply>;
  fail(request: FailRequest): Promise<AckReply>;
  onConnect(listener: () => void): Disposer;
  onRevoke(listener: (notice: RevokeNotice) => void): Disposer;
  /**
   * Once per connection, before any acknowledgement: the earlier connections' leases this one
   * took over (a coordinator that does not send it leaves the loop as it was).
   */
  onAdopted(listener: (notice: AdoptedNotice) => void): Disposer;
  /**
   * What the volunteer still has (running, queued, unacknowledged), asked at every (re)connection
   * and named in its handshake (`holding`): the coordinator adopts only those of its leases.
   */
  setHolding(holding: () => readonly string[]): void;
  /** The coordinator's hint that work became available since it last had none for us. */
  onWork(listener: () => void): Disposer;
  /** Closes the connection on purpose (the coordinator releases this session's leases at once). */
  disconnect?(): void;
  /** Opens it again after `disconnect`. */
  connect?(): void;
}
