import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from './config.ts';

const env = { HOME: '/home/v', XDG_CONFIG_HOME: '/cfg' };

describe('readConfig', () => {
  it('reads flags into a frozen config with defaults', () => {
    const config = readConfig(['--url', 'http://127.0.0.1:8080/some/path', '--site', 'abc'], env);
    expect(config).toEqual({
      url: 'http://127.0.0.1:8080',
      urls: ['http://127.0.0.1:8080'],
      siteKey: 'abc',
      workers: undefined,
      execution: 'threads',
      idFile: '/cfg/sparecycles/volunteer-id',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes the coordinator and site from the environment when no flag names them', () => {
    const config = readConfig(['--workers', '3', '--inline', '--id-file', '/tmp/id'], {
      ...env,
      SPARECYCLES_URL: 'https://grid.example',
      SPARECYCLES_SITE: 'site-9',
    });
    expect(config).toMatchObject({ url: 'https://grid.example', siteKey: 'site-9', workers: 3, execution: 'inline', idFile: '/tmp/id' });
  });

  it.each([
    [[], /--url is required/],
    [['--url', 'http://h'], /--site is required/],
    [['--url', 'nope', '--site', 's'], /not a URL/],
    [['--url', 'ftp://h', '--site', 's'], /http\(s\)/],
    [['--url', 'http://h', '--site', 's', '--workers', '0'], /--workers/],
    [['--url', 'http://h', '--site', 's', '--workers', '2.5'], /--workers/],
    [['--url', 'http://h', '--site', 's', '--bogus'], /bogus/],
  ])('refuses %j', (argv, message) => {
    expect(() => readConfig(argv, env)).toThrow(ConfigError);
    expect(() => readConfig(argv, env)).toThrow(message);
  });
  it('takes several cluster nodes separated by commas, each checked and reduced to its origin', () => {
    const config = readConfig(['--url', 'http://a.example:8080/x, https://b.example', '--site', 's'], {});
    expect(config.urls).toEqual(['http://a.example:8080', 'https://b.example']);
    expect(config.url).toBe('http://a.example:8080');
    expect(() => readConfig(['--url', 'http://a.example,ftp://b.example', '--site', 's'], {})).toThrow(/http\(s\)/);
  });
});
