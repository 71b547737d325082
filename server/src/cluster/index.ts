/** Several coordinator nodes on one PostgreSQL: membership, heartbeats, and events between nodes. */
export { joinCluster, type ClusterNode, type ClusterNodeHandlers, type ClusterNodeOptions } from './node.ts';
export { createClusterBus, type ClusterBus, type ServerSideChannel } from './bus.ts';
export * from './membership.ts';
