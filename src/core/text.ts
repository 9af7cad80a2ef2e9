// Characters that must never reach a line of output from a value: C0 and C1 controls (CR, LF, tab,
// escape sequences, NEL), DEL, the Unicode line and paragraph separators, and the bidirectional
// marks and overrides that make a terminal show text in another order than it is (Trojan Source).
const CONTROL = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const CONTROLS = new RegExp(CONTROL.source, 'gu');

export function hasControl(text: string): boolean {
  return CONTROL.test(text);
}

/** The text with every control character written as a \uXXXX escape. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
