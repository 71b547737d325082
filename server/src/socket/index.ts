/** The coordinator's Socket.IO namespaces. */
export {
  attachVolunteerSocket,
  originAllowed,
  type VolunteerRef,
  type VolunteerScheduler,
  type VolunteerSocket,
  type VolunteerSocketDeps,
} from './volunteer.ts';
