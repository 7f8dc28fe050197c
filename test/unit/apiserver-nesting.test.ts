// The nesting-depth measures that guard the body parsers: a YAML estimate on the lexer's tokens,
// a JSON scan that skips strings, and the exact depth of a parsed value.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { jsonNestingDepth, valueDepth, yamlNestingDepth } from '../../src/apiserver/nesting.js';

test('yamlNestingDepth: flow and block nesting, never fooled by scalars or comments', () => {
  const cases: [string, string, number][] = [
    ['scalar', 'hello', 1],
    ['flat map', 'a: 1\nb: 2\n', 1],
    ['nested maps', 'a:\n  b:\n    c: 1\n', 3],
    ['sequence in a map at the same column', 'a:\n- x\n- y\n', 2],
    ['compact sequences', '- - - a\n', 4],
    ['items holding maps', '- a:\n    - b: 1\n', 4],
    ['flow in block', 'a:\n  e: [1, {x: [y]}]\n', 5],
    ['flow only', '[[[[]]]]', 4],
    ['brackets in a block scalar do not count', 'a: |\n  [[[[[[[[\n  {{{{{\nb: 1\n', 1],
    ['brackets in quotes do not count', 'a: "[[[[[["\nb: \'{{{{\'\n', 1],
    ['brackets in comments do not count', '# [[[[[[\na: 1 # {{{{{\n', 1],
    ['dedent closes levels', 'a:\n  b:\n    c: 1\nd: 2\ne:\n  f: 1\n', 3],
  ];
  for (const [what, text, depth] of cases) assert.equal(yamlNestingDepth(text), depth, what);
  // Never below the parsed value's depth, so the parser never meets more than the estimate says.
  for (const [what, text] of cases) assert.ok(yamlNestingDepth(text) >= valueDepth(parseYaml(text)), what);
});

test('yamlNestingDepth stops early on hostile input and handles ten thousand levels', () => {
  const deep = '['.repeat(10_000) + ']'.repeat(10_000);
  assert.equal(yamlNestingDepth(deep, 200), 201);
  assert.equal(yamlNestingDepth(deep), 10_000);
  assert.ok(yamlNestingDepth('- '.repeat(5000) + 'x\n', 200) > 200);
  let block = '';
  for (let i = 0; i < 300; i++) block += `${' '.repeat(i)}k:\n`;
  assert.equal(yamlNestingDepth(block), 300);
});

test('jsonNestingDepth: brackets counted outside strings, escapes honoured', () => {
  const cases: [string, number][] = [
    ['1', 0],
    ['{}', 1],
    ['{"a":[1,{"b":[]}]}', 4],
    ['{"a":"[[[[{{{{"}', 1],
    ['{"a":"\\"[[["}', 1],
    ['["\\\\",[[]]]', 3],
  ];
  for (const [text, depth] of cases) assert.equal(jsonNestingDepth(text), depth, text);
  assert.equal(jsonNestingDepth('['.repeat(1_000_000), 100), 101);
});

test('valueDepth: exact depth of a parsed value', () => {
  assert.equal(valueDepth('x'), 0);
  assert.equal(valueDepth(null), 0);
  assert.equal(valueDepth({ a: 1 }), 1);
  assert.equal(valueDepth({ a: [{ b: {} }] }), 4);
  let v: unknown = 1;
  for (let i = 0; i < 5000; i++) v = [v];
  assert.equal(valueDepth(v), 5000);
  assert.equal(valueDepth(v, 100), 101);
});
