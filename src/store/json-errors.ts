// Where a broken JSON file breaks, as a person looks for it: the line and column, and what was
// expected there. Node 20's JSON.parse names a position for some errors and none for others
// ("Unexpected token ','"), and never a line; so the text is scanned again by jsonc-parser (loaded
// only when a file is broken) with JSON's own rules (no comments, no trailing commas).
import type { ParseError, printParseErrorCode } from 'jsonc-parser';

const EXPECTED: Record<ReturnType<typeof printParseErrorCode>, string> = {
  InvalidSymbol: 'something that is not JSON (text outside quotes?)',
  InvalidNumberFormat: 'a malformed number',
  PropertyNameExpected: 'expected a property name in double quotes (a comma too many?)',
  ValueExpected: 'expected a value (a comma too many, or nothing at all?)',
  ColonExpected: 'expected a colon after the property name',
  CommaExpected: 'expected a comma (or the end of the list or object)',
  CloseBraceExpected: 'expected "}" to close an object',
  CloseBracketExpected: 'expected "]" to close a list',
  EndOfFileExpected: 'more after the end of the document',
  InvalidCommentToken: 'a comment (JSON has none)',
  UnexpectedEndOfComment: 'a comment that does not end (JSON has none)',
  UnexpectedEndOfString: 'a string that does not end (a missing double quote?)',
  UnexpectedEndOfNumber: 'a number that ends too early',
  InvalidUnicode: 'a malformed \\u escape',
  InvalidEscapeCharacter: 'a malformed escape (a backslash not followed by one of "\\/bfnrtu)',
  InvalidCharacter: 'a control character inside a string (a line break?)',
  '<unknown ParseErrorCode>': 'something that is not JSON',
};

/** "line 4, column 5" of an offset into `text` (both counted from 1, columns in characters). */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: [...before.slice(lineStart)].length + 1 };
}

/** Why `text` is not JSON, with the line and column: "not valid JSON at line 4, column 5: expected ...". */
export async function describeJsonError(text: string, err: Error): Promise<string> {
  const { parse, printParseErrorCode } = await import('jsonc-parser');
  const errors: ParseError[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first) {
    const { line, column } = lineAndColumn(text, first.offset);
    const what = text.trim() === '' ? 'the file is empty' : EXPECTED[printParseErrorCode(first.error)];
    return `not valid JSON at line ${line}, column ${column}: ${what}`;
  }
  // What jsonc-parser lets pass and JSON.parse does not (a number such as 01): Node's position, if any.
  const position = /at position (\d+)/.exec(err.message);
  if (!position) return 'not valid JSON';
  const { line, column } = lineAndColumn(text, Number(position[1]));
  return `not valid JSON at line ${line}, column ${column}`;
}
