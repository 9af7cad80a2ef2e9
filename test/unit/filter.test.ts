import { describe, expect, it } from 'vitest';
import { evaluateFilter, parseFilter, parsePattern, patternMatches, type AddressFilter } from '../../src/core/filter.js';
import { filterOf } from '../../src/core/problems.js';

describe('patterns', () => {
  it.each([
    ['bob@example.com', 'bob@example.com', true],
    ['bob@example.com', 'BOB@Example.COM', true],
    ['bob@example.com', 'rob@example.com', false],
    ['example.com', 'anyone@example.com', true],
    ['example.com', 'anyone@sub.example.com', false],
    ['*.example.com', 'x@sub.example.com', true],
    ['*.example.com', 'x@a.b.example.com', true],
    ['*.example.com', 'x@example.com', false],
    ['*.example.com', 'x@badexample.com', false],
    ['*@example.com', 'x@example.com', true],
    ['*@example.com', 'x@sub.example.com', false],
    ['news-*@example.com', 'news-daily@example.com', true],
    ['news-*@example.com', 'daily-news@example.com', false],
    ['*', 'anyone@anywhere.test', true],
    ['ex.ample.com', 'x@exxample.com', false],
  ])('%s vs %s -> %s', (pattern, address, want) => {
    expect(patternMatches(parsePattern(pattern, 'deny'), address)).toBe(want);
  });
  it.each(['', 'a b.com', '@', 'bob@', 'a@b@c.com', 'exa_mple.com'])('rejects %j naming the list', (p) => {
    expect(() => parsePattern(p, 'deny')).toThrow(/invalid deny/);
  });
});

describe('allow beats deny', () => {
  const f = { allow: ['friend@spam.test', '*.partner.test'], deny: ['spam.test', '*.partner.test', '*@mx.partner.test'] };
  it('blocked only when a deny matches and no allow does', () => {
    expect(evaluateFilter(f, 'bob@spam.test')).toEqual({ blocked: true, decidedBy: { list: 'deny', pattern: 'spam.test' } });
    expect(evaluateFilter(f, 'friend@spam.test')).toEqual({ blocked: false, decidedBy: { list: 'allow', pattern: 'friend@spam.test' } });
    expect(evaluateFilter(f, 'x@mx.partner.test')).toEqual({ blocked: false, decidedBy: { list: 'allow', pattern: '*.partner.test' } });
    expect(evaluateFilter(f, 'x@elsewhere.test')).toEqual({ blocked: false, decidedBy: null });
  });
  it('an empty filter blocks nothing', () => {
    expect(evaluateFilter({ allow: [], deny: [] }, 'x@y.test').blocked).toBe(false);
  });
});

describe('parseFilter and filterOf', () => {
  it('normalises and de-duplicates patterns', () => {
    expect(parseFilter({ name: 'j', direction: 'Inbound', deny: ['Spam.test', 'spam.test'] })).toEqual({
      name: 'j',
      direction: 'inbound',
      allow: [],
      deny: ['spam.test'],
      default: false,
    });
  });
  it('rejects bad direction, lists and default', () => {
    expect(() => parseFilter({ name: 'j', direction: 'sideways' })).toThrow(/invalid direction "sideways": expected one of inbound, outbound/);
    expect(() => parseFilter({ name: 'j', direction: 'inbound', deny: 'spam.test' })).toThrow(/a list of patterns/);
    expect(() => parseFilter({ name: 'j', direction: 'inbound', default: 'perhaps' })).toThrow(/invalid default/);
  });
  it("uses the account's filter, else the default of the direction", () => {
    const filters: AddressFilter[] = [
      { name: 'in-default', direction: 'inbound', allow: [], deny: [], default: true },
      { name: 'out-default', direction: 'outbound', allow: [], deny: [], default: true },
      { name: 'Special', direction: 'inbound', allow: [], deny: [], default: false },
    ];
    const imap = { name: 'work', type: 'imap' as const };
    expect(filterOf(filters, imap)?.name).toBe('in-default');
    expect(filterOf(filters, { name: 'out', type: 'smtp' })?.name).toBe('out-default');
    expect(filterOf(filters, { ...imap, filter: 'special' })?.name).toBe('Special');
    expect(filterOf(filters.slice(2), { name: 'out', type: 'smtp' })).toBeUndefined();
    // Fails closed: a filter named and missing, or facing the other way, is the account's configuration error.
    expect(() => filterOf(filters, { ...imap, filter: 'gone' })).toThrow(expect.objectContaining({ code: 'ECONFIG', message: expect.stringMatching(/names the filter gone, which does not exist: nothing is read from it/) }));
    expect(() => filterOf(filters, { name: 'out', type: 'smtp', filter: 'special' })).toThrow(/which is inbound, but smtp accounts take outbound filters: nothing is sent through it/);
  });
});
