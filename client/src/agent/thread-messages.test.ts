import { describe, expect, it } from 'vitest';
import { moduleToSend } from './thread-messages.ts';

describe('which module goes with a run message', () => {
  const module = {} as WebAssembly.Module;

  it('sends the module to a thread that holds none or another one', () => {
    expect(moduleToSend(undefined, 0, module)).toBe(module);
    expect(moduleToSend(3, 4, module)).toBe(module);
  });

  it('sends only its key to a thread that holds it already', () => {
    expect(moduleToSend(4, 4, module)).toBeUndefined();
  });
});
