/** The runtime database's name, shared by the runtime that opens it and the frame that deletes it. */
export const RUNTIME_DB_NAME = 'sparecycles';
