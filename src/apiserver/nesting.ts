// How deeply a request body nests, measured before and after parsing. The YAML parser recurses
// per level (a few thousand `[` overflow its stack, ten thousand crash V8 in its regexp
// compiler), so YAML text is measured with the library's lexer, which is iterative, before the
// parser sees it. JSON.parse copes with any depth but spends seconds on a megabyte of `[`, so JSON
// text is measured too, by a scan that skips strings. All pure.

import { CST, Lexer } from 'yaml';

/**
 * An estimate of the deepest nesting in a YAML text: flow collections exactly, block collections
 * by their indentation columns (a sequence item, a mapping key and a flow collection opened at a
 * column deeper than its parent's each count as one level). Stops counting once past `limit`.
 */
export function yamlNestingDepth(text: string, limit = Infinity): number {
  const open: number[] = []; // columns of the block collections enclosing the current line
  let flow = 0;
  let col = 0;
  let lineStart = true; // the next content token is the first on its line (or follows "- " / "? ")
  let scalarSource = false; // the token after a SCALAR marker is the scalar's own text
  let max = 0;
  const advance = (tok: string) => {
    const nl = tok.lastIndexOf('\n');
    col = nl < 0 ? col + tok.length : tok.length - nl - 1;
  };
  const closeBlocks = (c: number) => {
    while (open.length && open[open.length - 1] > c) open.pop();
  };
  const openBlock = (c: number) => {
    closeBlocks(c);
    if (!open.length || open[open.length - 1] < c) open.push(c);
    max = Math.max(max, open.length + flow);
  };
  for (const tok of new Lexer().lex(text)) {
    if (scalarSource) {
      scalarSource = false;
      advance(tok);
      lineStart = false;
      continue;
    }
    if (tok === CST.SCALAR) {
      if (flow === 0 && lineStart) openBlock(col);
      scalarSource = true;
      continue;
    }
    if (tok === CST.DOCUMENT || tok === CST.FLOW_END) continue;
    const type = CST.tokenType(tok);
    if (type === 'newline') {
      col = 0;
      lineStart = true;
      continue;
    }
    if (type === 'space' || type === 'comment') {
      advance(tok);
      continue;
    }
    if (type === 'flow-map-start' || type === 'flow-seq-start') {
      if (flow === 0 && lineStart) closeBlocks(col); // the collection is the level: counted by `flow`
      flow++;
      max = Math.max(max, open.length + flow);
    } else if (type === 'flow-map-end' || type === 'flow-seq-end') {
      if (flow > 0) flow--;
    } else if ((type === 'seq-item-ind' || type === 'explicit-key-ind') && flow === 0) {
      openBlock(col);
      advance(tok);
      continue; // what follows on the same line is nested one level further
    } else if (flow === 0 && lineStart) {
      openBlock(col);
    }
    if (max > limit) return max;
    advance(tok);
    lineStart = false;
  }
  return max;
}

/** The deepest `[`/`{` nesting in a JSON text (brackets inside strings do not count). */
export function jsonNestingDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** The nesting depth of a parsed value: a scalar is 0, `{}` or `[]` is 1, `[[1]]` is 2. */
export function valueDepth(root: unknown, limit = Infinity): number {
  const stack: [unknown, number][] = [[root, 1]];
  let max = 0;
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    max = Math.max(max, d);
    if (max > limit) return max;
    for (const child of Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return max;
}
