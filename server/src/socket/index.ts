/** The coordinator's Socket.IO namespaces. */
export {
  attachVolunteerSocket,
  originAllowed,
  type VolunteerScheduler,
  type VolunteerSocket,
  type VolunteerSocketDeps,
} from './volunteer.ts';
