import { describe, expect, it } from 'vitest';
import { EXIT, failureReport } from './exit.ts';
import { parseInputLine, resultFileLine } from './files.ts';
import { SpareCyclesError } from '../sdk/index.ts';
import { UsageError } from './exit.ts';

describe('inputs file lines', () => {
  it('reads {"text"} as text and {"base64"} as bytes', () => {
    expect(parseInputLine('{"text":"hi"}', 'f line 1')).toBe('hi');
    expect(parseInputLine('{"base64":"AP8Q"}', 'f line 1')).toEqual(new Uint8Array([0, 255, 16]));
    expect(parseInputLine('{"base64":""}', 'f line 1')).toEqual(new Uint8Array([]));
  });

  it.each([
    ['not json', /in.ndjson line 3: not JSON/],
    ['{"text":"a","base64":"AA=="}', /exactly one key/],
    ['{"bytes":"AA=="}', /exactly one key/],
    ['{"text":1}', /exactly one key/],
    ['["a"]', /exactly one key/],
    ['{"base64":"AAA"}', /not valid padded base64/],
    ['{"base64":"AB=="}', /not valid padded base64/],
    ['{"base64":"A A="}', /not valid padded base64/],
  ])('refuses %s, naming the line', (line, message) => {
    expect(() => parseInputLine(line, 'in.ndjson line 3')).toThrow(UsageError);
    expect(() => parseInputLine(line, 'in.ndjson line 3')).toThrow(message);
  });
});

describe('results file lines', () => {
  it('always writes index, state, output, errors in that order', () => {
    expect(resultFileLine({ output: new Uint8Array([1, 2]), state: 'completed', index: 4 })).toBe('{"index":4,"state":"completed","output":"AQI="}\n');
    const errors = [{ attempt: 1, kind: 'trap', message: 'unreachable', at: 5 }];
    expect(resultFileLine({ index: 0, state: 'failed', errors })).toBe(`{"index":0,"state":"failed","errors":${JSON.stringify(errors)}}\n`);
    expect(resultFileLine({ index: 0, state: 'cancelled', errors: [] })).toBe('{"index":0,"state":"cancelled"}\n');
  });
});

describe('failure reports', () => {
  it.each([
    [new UsageError('bad'), EXIT.usage, /^error: bad$/],
    [new SpareCyclesError('network', 0, 'cannot reach the coordinator at http://x:1'), EXIT.server, /is the coordinator running at http:\/\/x:1\?/],
    [new SpareCyclesError('unauthorized', 401, 'this key was revoked; ask the operator'), EXIT.server, /sparecycles key create --role author/],
    [new SpareCyclesError('unauthorized', 401, 'unknown key'), EXIT.server, /check the key: --key, SPARECYCLES_KEY/],
    [new SpareCyclesError('job_not_found', 404, 'no job x'), EXIT.server, /\(404 job_not_found\)\n  check the id: `sparecycles job list`/],
    [Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', syscall: 'open' }), EXIT.usage, /ENOENT/],
  ])('%s → exit %i', (error, code, message) => {
    const report = failureReport(error, 'http://x:1');
    expect(report.code).toBe(code);
    expect(report.message).toMatch(message);
  });
});
