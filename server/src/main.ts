/** `npm start`: the coordinator, configured by the environment (see start.ts and config.ts). */
import { runCoordinator } from './start.ts';

runCoordinator();
