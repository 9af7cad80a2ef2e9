// A broken JSON file is reported with the line and column of the first fault, whatever Node's own
// message says (it has no position at all for some errors, and never a line).
import { describe, expect, it } from 'vitest';
import { describeJsonError, lineAndColumn } from '../../src/store/json-errors.js';

async function describe_(text: string): Promise<string> {
  try {
    JSON.parse(text);
  } catch (err) {
    return describeJsonError(text, err as Error);
  }
  throw new Error('expected invalid JSON');
}

describe('describeJsonError', () => {
  it.each([
    ['{"a": 1,}', 'line 1, column 9: expected a property name'],
    ['{"accounts": [,]}', 'line 1, column 15: expected a value'],
    ['{\n  "a": 1\n  "b": 2\n}', 'line 3, column 3: expected a comma'],
    ['{\n  "a": "x\ny"\n}', 'line 2, column 8: a string that does not end'],
    ['', 'line 1, column 1: the file is empty'],
    ['{"a":1}}', 'line 1, column 8: more after the end of the document'],
    ["{'a': 1}", 'line 1, column 2: something that is not JSON'],
    ['{"ä": 1,\n "ö": [1, 2,]}', 'line 2, column 13: expected a value'],
  ])('%j', async (text, where) => {
    const message = await describe_(text);
    expect(message.startsWith(`not valid JSON at ${where}`)).toBe(true);
    expect(message).not.toMatch(/position/);
  });
  it('counts columns in characters', () => {
    expect(lineAndColumn('ab\n😀x', 6)).toEqual({ line: 2, column: 3 });
  });
});
